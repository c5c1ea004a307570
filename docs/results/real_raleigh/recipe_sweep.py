"""Choose the Raleigh segmentor's recipe on val (``recipe_rule.md``).

Trains the real-only segmentor (``configs/demo/raleigh/
deeplabv3plus_raleigh_syn0.py``) over a demo work dir's data under each
recipe and seed and writes every run's val and test metrics; the pick is
the highest mean val mIoU::

    DLDM_DEMO_DIR=$(realpath work_dirs/demo_raleigh_landsat) python \\
        docs/results/real_raleigh/recipe_sweep.py --seeds 0 1 2 \\
        --out docs/results/real_raleigh/recipe_sweep.json

The class weights are the square root of the largest train share over
each class's (the prepared scene's ``summary.json``). Finished runs are
reused (by config digest), so an interrupted sweep resumes; the runs
committed in ``recipe_sweep.json`` were made against the config before
its pick, so a rerun after it needs a fresh ``--work-dir``. The pick and
the rule's prediction go to ``--pick-out``.
"""
import argparse
import json
import os
import os.path as osp

import dldm_mmseg  # noqa: F401
from dldm_mmseg.experiments.alpha_sweep import schedule_options
from dldm_mmseg.experiments.recipes import (class_weight_options,
                                            class_weights_from_shares,
                                            mean_val, pick_on_val,
                                            sweep_recipes, val_summary)
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.io import atomic_open

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = 'configs/demo/raleigh/deeplabv3plus_raleigh_syn0.py'
RARE = ('agriculture', 'water')


def recipes(summary: dict) -> dict:
    """The four recipes; every one sets the class weights (all 1: plain
    cross-entropy), so none inherits the config's."""
    classes = summary['classes']
    weighted = class_weights_from_shares(
        summary['splits']['train']['shares'], classes)
    plain = [1.0] * len(classes)

    def recipe(iters, weights):
        return dict(schedule_options(iters), **class_weight_options(weights))

    return {
        'demo (1500 it)': recipe(1500, plain),
        'class weights': recipe(1500, weighted),
        '3000 it': recipe(3000, plain),
        '3000 it, class weights': recipe(3000, weighted),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--work-dir', default='work_dirs/raleigh_recipe')
    parser.add_argument('--out', required=True)
    parser.add_argument('--pick-out', help='where the pick and the '
                        'prediction are written (JSON)')
    parser.add_argument('--reread', action='store_true',
                        help='read the runs --out holds instead of training')
    args = parser.parse_args()
    if args.reread:
        with open(args.out) as f:
            results = json.load(f)
    else:
        speed_up_configs()
        demo = os.environ.get('DLDM_DEMO_DIR',
                              'work_dirs/demo_raleigh_landsat')
        with open(osp.join(demo, 'data', 'raleigh_landsat',
                           'summary.json')) as f:
            summary = json.load(f)
        results = sweep_recipes(osp.join(ROOT, CONFIG), recipes(summary),
                                args.seeds, args.work_dir, args.out)
    print('\n'.join(val_summary(results, RARE)))
    picked, best = pick_on_val(results)
    print(f'picked on val: {picked} ({best:.2f})')
    # the rule's prediction: each class-weighted recipe has a val
    # agriculture IoU above 0 on at least two of its seeds
    agriculture = {name: [r['val']['IoU.agriculture'] for r in runs.values()]
                   for name, runs in results.items() if 'class weights'
                   in name}
    prediction = dict(agriculture, held=all(
        sum(v > 0 for v in values) >= 2 for values in agriculture.values()))
    print(f'prediction (val agriculture IoU > 0 on two seeds of each '
          f'class-weighted recipe): {prediction}')
    if args.pick_out:
        with atomic_open(args.pick_out) as f:
            json.dump(dict(seeds=args.seeds, mean_val_mIoU=mean_val(results),
                           pick=picked,
                           prediction_val_agriculture_IoU=prediction), f,
                      indent=1)


if __name__ == '__main__':
    main()
