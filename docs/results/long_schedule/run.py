"""Real only, oversampling 40% and alpha 0.4 with a longer segmentor
schedule, over a finished demo work dir (``rule.md``).

Every run goes to ``<out>/seed<N>/<run>`` and is skipped when finished
with the same settings, so a killed run resumes. Writes ``<name>.json``
(mean, std and every seed, val and test) beside this script, or in
``--out-dir``::

    DLDM_DEMO_DIR=$(realpath work_dirs/vegas_demo) \
    python docs/results/long_schedule/run.py \
        configs/demo/vegas/deeplabv3plus_vegas_syn40.py \
        configs/demo/vegas/deeplabv3plus_vegas_oversample40.py \
        --iters 3000 --out work_dirs/vegas_demo/long_schedule \
        --name vegas_3000 --rare road
"""
import os.path as osp
import sys

from mmengine.config import DictAction

from dldm_mmseg.experiments.alpha_sweep import (alpha_run_identity,
                                                config_run_identity,
                                                reuse_or_run, run_alpha,
                                                run_config, schedule_options)
from dldm_mmseg.utils.compat import speed_up_configs

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import harness_parser, rare_keys, write_summary  # noqa: E402

RUNS = ('real', 'oversample40', 'alpha_0.4')


def main(argv=None):
    parser = harness_parser(__doc__.split('\n\n')[0])
    parser.add_argument('config', help="a demo's *_syn40.py config")
    parser.add_argument('oversample', help="its *_oversample40.py config")
    parser.add_argument('--iters', type=int, required=True)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='settings of all three runs, '
                        'key=value (as tools/train.py takes them)')
    args = parser.parse_args(argv)
    speed_up_configs()
    for seed in args.seeds:
        options = dict(args.cfg_options, **schedule_options(args.iters, seed))
        folder = osp.join(args.out, f'seed{seed}')
        for name, alpha in (('real', 0.0), ('alpha_0.4', 0.4)):
            run_dir = osp.join(folder, name)
            reuse_or_run(run_dir, run_alpha, args.config, alpha, run_dir,
                         options, identity=alpha_run_identity(
                             args.config, alpha, options))
        run_dir = osp.join(folder, 'oversample40')
        reuse_or_run(run_dir, run_config, args.oversample, run_dir, options,
                     identity=config_run_identity(args.oversample, options))
    write_summary(args.out, RUNS, list(rare_keys(args.rare)),
                  osp.join(args.out_dir or HERE, f'{args.name}.json'),
                  iters=args.iters,
                  **({'cfg_options': args.cfg_options}
                     if args.cfg_options else {}))


if __name__ == '__main__':
    main()
