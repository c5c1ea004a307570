"""``rule.md``'s third addendum: real only at the 90-tile budget trained
for 3000 iterations in one phase (the same poly schedule, stretched),
seeds 0-4, beside the 1500-iteration runs and the real-then-real
control. Runs go to ``<work>/segmentors/seed<N>/real_3000`` and are
reused when finished. Writes ``long_real.json`` here::

    python docs/results/brazil_budget_use/long_real.py \\
        --work work_dirs/bbud_app
"""
import argparse
import os.path as osp
import sys

from dldm_mmseg.utils.compat import speed_up_configs

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
sys.path.insert(0, osp.join(HERE, '..', 'brazil_image_vae'))
from aggregate import load, rare_keys, summarise_runs  # noqa: E402
from aggregate import write_verdict  # noqa: E402
from more_arms import run  # noqa: E402

ITERS = 3000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', required=True,
                        help="the appearance set's work dir (its real tiles)")
    parser.add_argument('--seeds', type=int, nargs='+',
                        default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    speed_up_configs()
    for seed in args.seeds:
        run(args.work, 'real_3000', seed, 0.0, iters=ITERS)
    out = osp.join(args.work, 'segmentors')
    keys = list(rare_keys('building'))
    runs = summarise_runs(out, ['real_3000'], args.seeds, keys)
    sweep = load(osp.join(HERE, 'sweep.json'))['runs']
    pretrain = load(osp.join(HERE, 'pretrain.json'))
    control = pretrain['real_then_real']['val']['mIoU']['mean']
    mine = runs['real_3000']['val']['mIoU']['mean']
    write_verdict(osp.join(HERE, 'long_real.json'), dict(
        iters=ITERS, seeds=args.seeds, real_3000=runs['real_3000'],
        real_1500={split: sweep['alpha_0'][split]['mIoU']
                   for split in ('val', 'test')},
        real_then_real={split: pretrain['real_then_real'][split]['mIoU']
                        for split in ('val', 'test')},
        prediction_within_1_of_control=abs(mine - control) <= 1.0))


if __name__ == '__main__':
    main()
