"""Convert ISPRS Vaihingen downloads into mmseg-format patches
(``tools/prepare_potsdam.py --dataset vaihingen``).

Example::

    python tools/prepare_vaihingen.py RAW_DIR data/vaihingen
"""
from dldm_mmseg.datasets.isprs_preparation import main

if __name__ == '__main__':
    main(dataset='vaihingen')
