"""Convert ISPRS Potsdam (or, with --dataset vaihingen, Vaihingen) downloads
into mmseg-format 512x512 patches with the standard split.

Example::

    python tools/prepare_potsdam.py RAW_DIR data/potsdam
    python tools/prepare_potsdam.py RAW_DIR data/vaihingen --dataset vaihingen
"""
from dldm_mmseg.datasets.isprs_preparation import main

if __name__ == '__main__':
    main()
