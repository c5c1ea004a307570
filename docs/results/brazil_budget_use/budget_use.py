"""What this folder's harnesses share: their command line, the filtered
variant of the appearance set, and the cells of their tables."""
import argparse
import os.path as osp

from dldm_mmseg.experiments.alpha_sweep import (class_filter_variant,
                                                finished_run)

HERE = osp.dirname(osp.abspath(__file__))
CONFIG = 'configs/demo/brazil/deeplabv3plus_brazil_syn40.py'


def parse_args(doc, out_dir=HERE, read=False, budget=True):
    """``--budget`` (unless not ``budget``), ``--work``, ``--seeds``
    (0-4), ``--out-dir`` (``out_dir``) and with ``read`` a ``--read``
    switch, described by the first paragraph of ``doc``."""
    parser = argparse.ArgumentParser(description=doc.split('\n\n')[0])
    if budget:
        parser.add_argument('--budget', required=True,
                            help="the budget's work dir (its real-only and "
                            'oversampling runs, its seed-0 real-only '
                            'segmentor for the filter)')
    parser.add_argument('--work', required=True,
                        help="the appearance set's work dir")
    parser.add_argument('--seeds', type=int, nargs='+',
                        default=[0, 1, 2, 3, 4])
    parser.add_argument('--out-dir', default=out_dir)
    if read:
        parser.add_argument('--read', action='store_true',
                            help='train nothing; read the finished seeds')
    return parser.parse_args()


def filter_variant(budget, work):
    """The class-relative filter's variant of ``work``'s set, measured by
    the budget's seed-0 real-only segmentor on the real val tiles."""
    reference = finished_run(
        osp.join(budget, 'segmentors', 'seed0', 'real'), CONFIG)
    return class_filter_variant(reference, osp.abspath(osp.join(
        work, 'data', 'brazil_buildings')), True, 'val')


def mean(runs, name, split, key='mIoU'):
    return runs[name][split][key]['mean']


def cell(runs, name, split, key='mIoU'):
    value = runs[name][split][key]
    return f'{value["mean"]:.2f} ± {value["std"]:.2f}'
