"""Stage 1 with L_prop at weight 0.1 (the configs beside this file for
SpaceNet Atlanta, those in ``../stage1_toy_seeds3/`` for the toy scenes;
the default is 0.5), text only and numeric + text, trained and scored by
the demo's own steps (``Demo.train_generator``, ``measures.mask_cpe`` on
test and val) in a finished demo work dir::

    python docs/results/lprop_atlanta/run.py --seeds 0 1 2 \
        --out docs/results/lprop_atlanta/mcpe.json -- \
        --dataset spacenet_atlanta --work-dir work_dirs/atl_w4 --alphas 0 0.4

Everything after ``--`` is ``tools/demo.py``'s arguments of the finished
run. The JSON is rewritten after every model, so a killed run keeps what
it finished.
"""
import argparse
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
sys.path.insert(0, osp.join(ROOT, 'tools'))

from demo import parse_args  # noqa: E402  (tools/demo.py)

from dldm_mmseg.experiments.demo import finished_demo, measures  # noqa
from dldm_mmseg.utils.io import atomic_open  # noqa: E402

RESULTS = osp.relpath(osp.dirname(osp.dirname(osp.abspath(__file__))), ROOT)
CONFIGS = {
    'spacenet_atlanta': {
        'text, L_prop 0.1': 'lprop_atlanta/mask_small_atlanta_prop01.py',
        'numeric + text, L_prop 0.1':
        'lprop_atlanta/mask_small_atlanta_numeric_prop01.py'},
    'toy': {
        'text, L_prop 0.1': 'stage1_toy_seeds3/mask_small_toy_prop01.py',
        'numeric + text, L_prop 0.1':
        'stage1_toy_seeds3/mask_small_toy_numeric_prop01.py'}}
NAMES = list(CONFIGS['toy'])


def main():
    argv = sys.argv[1:]
    ours, theirs = (argv[:argv.index('--')], argv[argv.index('--') + 1:]) \
        if '--' in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', required=True)
    parser.add_argument('--models', nargs='+', default=NAMES,
                        choices=NAMES)
    parser.add_argument('--out', required=True)
    args = parser.parse_args(ours)
    demo_args = parse_args(theirs)
    made_by = dict(demo_args=theirs)
    results = dict(made_by=made_by)
    if osp.isfile(args.out):
        with open(args.out, encoding='utf-8') as f:
            results = json.load(f)
        if results.get('made_by') != made_by:
            parser.error(f'{args.out} holds runs of another work dir or '
                         f'demo arguments ({results.get("made_by")}); '
                         'choose another --out')
    with finished_demo(demo_args, ROOT) as demo:
        for seed in args.seeds:
            for name in args.models:
                config = osp.join(RESULTS,
                                  CONFIGS[demo_args.dataset][name])
                demo.mask_configs = {name: config}
                print(f'{name}, seed {seed}: {config}')
                demo.train_generator(config, seed)
                results.setdefault(name, {})[str(seed)] = {
                    split: measures.mask_cpe(demo, seed, split)[name]
                    for split in ('test', 'val')}
                with atomic_open(args.out, 'w') as f:
                    json.dump(results, f, indent=1)
    print('wrote', args.out)


if __name__ == '__main__':
    main()
