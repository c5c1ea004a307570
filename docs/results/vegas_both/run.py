"""Real only, oversampling 40%, alpha 0.4 and synthetic data plus
oversampling (``both_<r>``: ``syn_ratio = r`` and ``oversample_ratio =
r``, for each ``--both r``; ``alpha_<a>`` for each ``--sweep a``;
``alpha_<a>_os_<o>`` for each ``--mix a:o``) over a finished demo work
dir, with ``--cfg-options`` in every run; ``--also
NAME KEY=VALUE ...`` adds a real only run with other options
(``rule.md``: ``real_w4``, road weight 4).

Every run goes to ``<out>/seed<N>/<run>`` and is skipped when finished
with the same settings, so a killed run resumes. Writes ``<name>.json``
(mean, std and every seed, val and test) beside this script, or in
``--out-dir``::

    DLDM_DEMO_DIR=$(realpath work_dirs/atl_pf) \\
    python docs/results/vegas_both/run.py \\
        configs/demo/atlanta/deeplabv3plus_atlanta_syn40.py \\
        configs/demo/atlanta/deeplabv3plus_atlanta_oversample40.py \\
        --both 0.2 --out work_dirs/atl_pf/both --name atlanta_both \\
        --rare building --seeds 0 1 2 3 4 5
"""
import argparse
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

ITERS = 1500


def both_options(ratio, rare):
    """The mixed sampler's options that also oversample ``rare``."""
    return {'train_dataloader.sampler.oversample_ratio': ratio,
            'train_dataloader.sampler.rare_classes': [rare]}


def arms(args):
    """``(name, config, alpha or None, options)`` of each run at one seed,
    without the seed's schedule; ``alpha`` None: ``config`` runs as it
    is."""
    common = args.cfg_options
    yield 'real', args.config, 0.0, common
    yield 'oversample40', args.oversample, None, common
    yield 'alpha_0.4', args.config, 0.4, common
    for ratio in args.both:
        yield (f'both_{ratio}', args.config, ratio,
               dict(common, **both_options(ratio, args.rare)))
    for alpha in args.sweep:
        yield f'alpha_{alpha}', args.config, alpha, dict(
            common, **repeats(alpha))
    for alpha, ratio in args.mix:
        yield (f'alpha_{alpha}_os_{ratio}', args.config, alpha,
               dict(common, **repeats(alpha),
                    **both_options(ratio, args.rare)))
    if args.also:
        yield args.also.name, args.config, 0.0, args.also.options


def repeats(alpha):
    """Above alpha 1 an epoch draws each synthetic pair more than once (the
    demos' sets hold as many pairs as real tiles): the sampler's
    ``allow_repeats``."""
    return {'train_dataloader.sampler.allow_repeats': True} if alpha > 1 \
        else {}


def mix(text):
    """``a:o`` -> ``(a, o)``: the synthetic and oversampling ratios of
    one ``--mix`` run."""
    try:
        alpha, ratio = (float(part) for part in text.split(':'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'--mix takes ALPHA:OVERSAMPLE_RATIO, e.g. 1.0:0.2, got {text!r}')
    return alpha, ratio


class Also(argparse.Action):
    """``--also NAME KEY=VALUE ...``: a name and its options."""

    def __call__(self, parser, namespace, values, option_string=None):
        scratch = argparse.Namespace()
        DictAction([], 'options')(parser, scratch, values[1:])
        setattr(namespace, self.dest, argparse.Namespace(
            name=values[0], options=getattr(scratch, 'options', {})))


def main(argv=None):
    parser = harness_parser(__doc__.split('\n\n')[0])
    parser.add_argument('config', help="the demo's *_syn40.py config")
    parser.add_argument('oversample', help="its *_oversample40.py config")
    parser.add_argument('--both', type=float, nargs='+', default=[],
                        help='the ratios r of the both_<r> runs')
    parser.add_argument('--sweep', type=float, nargs='+', default=[],
                        help='more alphas a (runs alpha_<a>), beside 0 and '
                        '0.4')
    parser.add_argument('--mix', type=mix, nargs='+', default=[],
                        metavar='A:O', help='runs alpha_<a>_os_<o>: syn_ratio '
                        'a and oversample_ratio o')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, help='settings of every run but --also\'s'
                        ', key=value (as tools/train.py takes them)')
    parser.add_argument('--also', nargs='+', action=Also,
                        metavar='NAME KEY=VALUE', help='one more real-only '
                        'run, NAME, with these settings instead')
    args = parser.parse_args(argv)
    speed_up_configs()
    for seed in args.seeds:
        for name, config, alpha, options in arms(args):
            options = dict(options, **schedule_options(ITERS, seed))
            run_dir = osp.join(args.out, f'seed{seed}', name)
            if alpha is None:
                reuse_or_run(run_dir, run_config, config, run_dir, options,
                             identity=config_run_identity(config, options))
            else:
                reuse_or_run(run_dir, run_alpha, config, alpha, run_dir,
                             options, identity=alpha_run_identity(
                                 config, alpha, options))
    runs = [name for name, *_ in arms(args)]
    write_summary(args.out, runs, list(rare_keys(args.rare)),
                  osp.join(args.out_dir or HERE, f'{args.name}.json'),
                  iters=ITERS, **({'cfg_options': args.cfg_options}
                                  if args.cfg_options else {}))


if __name__ == '__main__':
    main()
