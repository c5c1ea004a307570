"""``rule.md``'s main arm: alpha 0.4 over the set of a work dir (the
appearance work dir), seeds 0-2, 1500 iterations, beside real only and
oversampling runs already in ``<work>/segmentors/seed<N>`` (``run.sh``
links the kl6 work dir's). The set is made by the first run. Writes
``<name>.json`` here (or in ``--out-dir``)::

    python docs/results/brazil_appearance/run.py work_dirs/bapp
"""
import argparse
import os.path as osp
import sys

from dldm_mmseg.utils.compat import speed_up_configs

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
sys.path.insert(0, osp.join(HERE, '..', 'brazil_image_vae'))
from aggregate import rare_keys, write_summary  # noqa: E402
from more_arms import ITERS, run  # noqa: E402

RUNS = ('real', 'oversample40', 'alpha_0.4')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work', help='the work dir of the set')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--name', default='bapp_1500')
    parser.add_argument('--out-dir', default=HERE)
    args = parser.parse_args()
    speed_up_configs()
    for seed in args.seeds:
        run(args.work, 'alpha_0.4', seed, 0.4)
    write_summary(osp.join(args.work, 'segmentors'), RUNS,
                  list(rare_keys('building')),
                  osp.join(args.out_dir, f'{args.name}.json'), iters=ITERS)


if __name__ == '__main__':
    main()
