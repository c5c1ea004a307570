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
import json
import os
import os.path as osp

import dldm_mmseg  # noqa: F401
from dldm_mmseg.experiments.alpha_sweep import (VAL_METRICS, config_digest,
                                                reuse_or_run, schedule_options,
                                                train_and_test)
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.config import load_run_config
from dldm_mmseg.utils.io import atomic_open

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG = 'configs/demo/atlanta/deeplabv3plus_atlanta_syn0.py'
HEADS = ('decode_head', 'auxiliary_head')


def recipe(iters=1500, lr=0.05, building_weight=1):
    """cfg-options of one recipe. The class weights are always set (1:1 is
    plain cross-entropy), so a recipe does not inherit the config's."""
    options = dict(schedule_options(iters), **{
        'optim_wrapper.optimizer.lr': lr})
    for head in HEADS:
        options[f'model.{head}.loss_decode.class_weight'] = [
            1.0, float(building_weight)]
    return options


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
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    results = {}
    for name in args.recipes:
        for seed in args.seeds:
            options = dict(RECIPES[name], **{'randomness.seed': seed})
            slug = name.replace(' ', '_').replace(',', '').replace(
                '(', '').replace(')', '').replace('.', '')
            run_dir = osp.join(args.work_dir, f'{slug}_seed{seed}')
            cfg = load_run_config(osp.join(ROOT, CONFIG), options,
                                  work_dir=run_dir, format_python_code=False)
            print(f'{name}, seed {seed} -> {run_dir}', flush=True)
            test = reuse_or_run(run_dir, train_and_test, cfg,
                                f'recipe_{slug}_seed{seed}',
                                identity=dict(config=config_digest(cfg)))
            with open(osp.join(run_dir, VAL_METRICS)) as f:
                val = json.load(f)
            results.setdefault(name, {})[str(seed)] = dict(val=val, test=test)
            with atomic_open(args.out, 'w') as f:
                json.dump(results, f, indent=1)
    for name, runs in results.items():
        val = [r['val']['mIoU'] for r in runs.values()]
        vb = [r['val']['IoU.building'] for r in runs.values()]
        print(f'{name:32s} val mIoU {sum(val) / len(val):6.2f} '
              f'building {sum(vb) / len(vb):6.2f} ({len(val)} seeds)')


if __name__ == '__main__':
    main()
