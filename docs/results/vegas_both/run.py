"""The runs of ``rule.md``: real only, oversampling 40%, alpha 0.4,
synthetic data plus oversampling (``both_<r>``: ``syn_ratio = r`` and
``oversample_ratio = r``) with road weight 1, and real only with road
weight 4 (``real_w4``), over a finished stratified Vegas demo work dir.

Every run goes to ``<out>/seed<N>/<run>`` and is skipped when finished
with the same settings, so a killed run resumes. Writes ``<name>.json``
(mean, std and every seed, val and test) beside this script::

    DLDM_DEMO_DIR=$(realpath work_dirs/vstrat_demo) \\
    python docs/results/vegas_both/run.py \\
        configs/demo/vegas/deeplabv3plus_vegas_syn40.py \\
        configs/demo/vegas/deeplabv3plus_vegas_oversample40.py \\
        --out work_dirs/vstrat_demo/both --name both_1500 --rare road \\
        --seeds 0 1 2 3 4 5
"""
import importlib.util
import os.path as osp
import sys

from dldm_mmseg.experiments.alpha_sweep import (alpha_run_identity,
                                                config_digest, reuse_or_run,
                                                run_alpha)
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.config import load_run_config

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import harness_parser, rare_keys, write_summary  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    'long_schedule_run', osp.join(HERE, '..', 'long_schedule', 'run.py'))
long_schedule = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(long_schedule)

ITERS = 1500
ROAD_WEIGHT_1 = {f'model.{head}.loss_decode.class_weight': [1.0, 1.0]
                 for head in ('decode_head', 'auxiliary_head')}
BOTH = (0.2, 0.4)
RUNS = ('real', 'oversample40', 'alpha_0.4',
        *(f'both_{r}' for r in BOTH), 'real_w4')


def both_options(ratio, rare):
    """The mixed sampler's options that also oversample ``rare``."""
    return {'train_dataloader.sampler.oversample_ratio': ratio,
            'train_dataloader.sampler.rare_classes': [rare]}


def arms(config, oversample, rare):
    """``(name, config, alpha or None, options)`` of each run at one seed,
    without the seed's schedule; ``alpha`` None: ``config`` runs as it
    is."""
    yield 'real', config, 0.0, ROAD_WEIGHT_1
    yield 'oversample40', oversample, None, ROAD_WEIGHT_1
    yield 'alpha_0.4', config, 0.4, ROAD_WEIGHT_1
    for ratio in BOTH:
        yield (f'both_{ratio}', config, ratio,
               dict(ROAD_WEIGHT_1, **both_options(ratio, rare)))
    yield 'real_w4', config, 0.0, {}


def main(argv=None):
    parser = harness_parser(__doc__.split('\n\n')[0])
    parser.add_argument('config', help="the demo's *_syn40.py config")
    parser.add_argument('oversample', help="its *_oversample40.py config")
    args = parser.parse_args(argv)
    speed_up_configs()
    for seed in args.seeds:
        for name, config, alpha, options in arms(args.config,
                                                 args.oversample, args.rare):
            options = dict(options, **long_schedule.schedule(ITERS, seed))
            run_dir = osp.join(args.out, f'seed{seed}', name)
            if alpha is None:
                reuse_or_run(run_dir, long_schedule.run_config, config,
                             options, run_dir, identity=dict(
                                 config=config_digest(load_run_config(
                                     config, options,
                                     format_python_code=False))))
            else:
                reuse_or_run(run_dir, run_alpha, config, alpha, run_dir,
                             options, identity=alpha_run_identity(
                                 config, alpha, options))
    write_summary(args.out, RUNS, list(rare_keys(args.rare)),
                  osp.join(args.out_dir or HERE, f'{args.name}.json'),
                  iters=ITERS)


if __name__ == '__main__':
    main()
