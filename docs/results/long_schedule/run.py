"""Real only, oversampling 40% and alpha 0.4 with a longer segmentor
schedule, over a finished demo work dir (``rule.md``).

Every run goes to ``<out>/seed<N>/<run>`` and is skipped when finished
with the same settings, so a killed run resumes. Writes ``<name>.json``
(mean, std and every seed, val and test) beside this script::

    DLDM_DEMO_DIR=$(realpath work_dirs/vegas_demo) \
    python docs/results/long_schedule/run.py \
        configs/demo/vegas/deeplabv3plus_vegas_syn40.py \
        configs/demo/vegas/deeplabv3plus_vegas_oversample40.py \
        --iters 3000 --out work_dirs/vegas_demo/long_schedule \
        --name vegas_3000 --rare road
"""
import argparse
import hashlib
import json
import os.path as osp
import sys

from dldm_mmseg.experiments.alpha_sweep import (alpha_run_identity,
                                                config_digest, reuse_or_run,
                                                run_alpha, train_and_test)
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.config import load_run_config
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import (finished_seeds, summarise_runs,  # noqa: E402
                       summary_lines)

RUNS = ('real', 'oversample40', 'alpha_0.4')


def schedule(iters, seed):
    """Options that set the seed and end training (and the poly schedule,
    which has no ``end``), its one validation and its checkpoint at
    ``iters``."""
    return {'randomness.seed': seed, 'train_cfg.max_iters': iters,
            'train_cfg.val_interval': iters,
            'default_hooks.checkpoint.interval': iters}


def run_config(config, options, work_dir):
    cfg = load_run_config(config, options, work_dir=work_dir,
                          format_python_code=False)
    where = hashlib.sha1(osp.abspath(work_dir).encode()).hexdigest()[:8]
    return train_and_test(cfg, f'oversample_{where}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help="a demo's *_syn40.py config")
    parser.add_argument('oversample', help="its *_oversample40.py config")
    parser.add_argument('--iters', type=int, required=True)
    parser.add_argument('--out', required=True, help='work dir of the runs')
    parser.add_argument('--name', required=True, help='<name>.json here')
    parser.add_argument('--rare', required=True, help='the rare class')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    args = parser.parse_args(argv)
    speed_up_configs()
    for seed in args.seeds:
        options = schedule(args.iters, seed)
        folder = osp.join(args.out, f'seed{seed}')
        for name, alpha in (('real', 0.0), ('alpha_0.4', 0.4)):
            run_dir = osp.join(folder, name)
            reuse_or_run(run_dir, run_alpha, args.config, alpha, run_dir,
                         options, identity=alpha_run_identity(
                             args.config, alpha, options))
        run_dir = osp.join(folder, 'oversample40')
        reuse_or_run(run_dir, run_config, args.oversample, options, run_dir,
                     identity=dict(config=config_digest(load_run_config(
                         args.oversample, options,
                         format_python_code=False))))
    # every finished seed, not only this call's: a call for one more
    # seed does not shrink the summary
    summary = summarise_runs(args.out, RUNS, finished_seeds(args.out, RUNS),
                             ['mIoU', f'IoU.{args.rare}',
                              f'Precision.{args.rare}', f'Recall.{args.rare}'])
    with atomic_open(osp.join(HERE, f'{args.name}.json')) as f:
        json.dump(dict(iters=args.iters, **summary), f, indent=1)
    print('\n'.join(summary_lines(summary)))


if __name__ == '__main__':
    main()
