"""Convert ISPRS Vaihingen downloads into mmseg-format patches
(``tools/prepare_potsdam.py --dataset vaihingen``).

Example::

    python tools/prepare_vaihingen.py RAW_DIR data/vaihingen
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from prepare_potsdam import main  # noqa: E402

if __name__ == '__main__':
    main(dataset='vaihingen')
