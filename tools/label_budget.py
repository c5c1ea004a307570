"""Keep a label budget of a prepared dataset: a random share of its train
tiles, val and test whole (``dldm_mmseg.datasets.label_budget``).

Every generator and segmentor trained on the new folder sees only the kept
tiles' labels; val and test stay the full dataset's.

Examples::

    python tools/label_budget.py data/real/brazil_buildings \\
        --out data/real/brazil_buildings_b90 --train-tiles 90
    python tools/label_budget.py data/scene --out data/scene_1of8 \\
        --fraction 0.125 --seed 1
"""
import argparse

from dldm_mmseg.datasets.label_budget import make_label_budget
from dldm_mmseg.datasets.raster_preparation import split_lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='a prepared dataset folder '
                        '(tools/prepare_raster.py, tools/get_benchmark.py)')
    parser.add_argument('--out', required=True, help='the budget folder')
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument('--train-tiles', type=int,
                      help='how many train tiles to keep')
    size.add_argument('--fraction', type=float,
                      help='or the share of the train tiles to keep')
    parser.add_argument('--seed', type=int, default=0,
                        help='which tiles (default 0)')
    parser.add_argument('--force', action='store_true',
                        help='replace an --out folder made otherwise')
    args = parser.parse_args(argv)
    summary = make_label_budget(args.src, args.out, args.train_tiles,
                                args.fraction, args.seed, args.force)
    budget = summary['label_budget']
    print(f'{args.out}: {budget["train_tiles"]} of '
          f'{budget["source_train_tiles"]} train tiles (seed '
          f'{budget["seed"]}); val and test whole')
    print('\n'.join(split_lines(summary)))
    return summary


if __name__ == '__main__':
    main()
