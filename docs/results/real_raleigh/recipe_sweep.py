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
reused (by config digest), so an interrupted sweep resumes.
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
                                            sweep_recipes)
from dldm_mmseg.utils.compat import speed_up_configs

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
    args = parser.parse_args()
    speed_up_configs()
    demo = os.environ.get('DLDM_DEMO_DIR', 'work_dirs/demo_raleigh_landsat')
    with open(osp.join(demo, 'data', 'raleigh_landsat',
                       'summary.json')) as f:
        summary = json.load(f)
    results = sweep_recipes(osp.join(ROOT, CONFIG), recipes(summary),
                            args.seeds, args.work_dir, args.out)
    rare = {c: mean_val(results, f'IoU.{c}') for c in RARE}
    for name, miou in mean_val(results).items():
        print(f'{name:24s} val mIoU {miou:6.2f} ' + ' '.join(
            f'{c} {rare[c][name]:6.2f}' for c in RARE)
            + f' ({len(results[name])} seeds)')
    print('picked on val: %s (%.2f)' % pick_on_val(results))


if __name__ == '__main__':
    main()
