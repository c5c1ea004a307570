"""Choose the Atlanta demo segmentor's recipe on val, for several seeds.

Trains the real-only segmentor (``configs/demo/atlanta/
deeplabv3plus_atlanta_syn0.py``) of a finished demo work dir under each
recipe and seed, and writes val and test metrics of every run. The choice
is made on the mean val mIoU; test is read only for the recipe chosen::

    DLDM_DEMO_DIR=work_dirs/atl_seed0 python \
        docs/results/atlanta_segmentor_recipe/recipe_sweep.py \
        --seeds 0 1 --out sweep.json

Finished runs are reused (by config digest), so an interrupted sweep
resumes.
"""
import argparse
import os.path as osp

import dldm_mmseg  # noqa: F401
from dldm_mmseg.experiments.alpha_sweep import schedule_options
from dldm_mmseg.experiments.recipes import (class_weight_options,
                                            sweep_recipes, val_summary)
from dldm_mmseg.utils.compat import speed_up_configs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = 'configs/demo/atlanta/deeplabv3plus_atlanta_syn0.py'


def recipe(iters=1500, lr=0.05, building_weight=1):
    """cfg-options of one recipe. The class weights are always set (1:1 is
    plain cross-entropy), so a recipe does not inherit the config's."""
    return dict(schedule_options(iters),
                **{'optim_wrapper.optimizer.lr': lr},
                **class_weight_options([1.0, building_weight]))


RECIPES = {
    'demo (1500 it, lr 0.05)': recipe(),
    'building weight 4': recipe(building_weight=4),
    '4000 it': recipe(iters=4000),
    '4000 it, building weight 4': recipe(iters=4000, building_weight=4),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--recipes', nargs='+', default=list(RECIPES),
                        choices=list(RECIPES))
    parser.add_argument('--work-dir', default='work_dirs/atlanta_recipe')
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    speed_up_configs()
    results = sweep_recipes(osp.join(ROOT, CONFIG),
                            {name: RECIPES[name] for name in args.recipes},
                            args.seeds, args.work_dir, args.out)
    print('\n'.join(val_summary(results, ['building'])))


if __name__ == '__main__':
    main()
