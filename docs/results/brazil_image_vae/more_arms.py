"""The addendum's arms of ``rule.md`` over the kl6 work dir: alpha 0.4 on
the kl6 set with the class-relative filter (val means, as the Brazil
demo's ``--class-filter val``), seeds 0-2; and alpha 1.0 (as many
synthetic draws as real ones) on either set, seed 0. Runs go to
``<out>/seed<N>/<run>`` beside ``../long_schedule/run.py``'s and are
reused when finished with the same settings. Writes ``<name>.json``
here (``bkl6_more.json``), or in ``--out-dir``::

    python docs/results/brazil_image_vae/more_arms.py \\
        --demo work_dirs/brz --work work_dirs/bkl6
"""
import argparse
import os
import os.path as osp
import sys

from dldm_mmseg.experiments.alpha_sweep import (alpha_run_identity,
                                                class_filter_variant,
                                                finished_run, reuse_or_run,
                                                run_alpha, schedule_options)
from dldm_mmseg.utils.compat import speed_up_configs

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import (load, rare_keys, summarise_runs,  # noqa: E402
                       write_verdict)

CONFIG = 'configs/demo/brazil/deeplabv3plus_brazil_syn40.py'
ITERS = 1500


def run(work: str, name: str, seed: int, alpha: float, variant=None,
        config: str = CONFIG, options: dict = None, iters: int = ITERS):
    """One segmentor of ``config`` (with cfg-``options``) over ``work``'s
    set (``DLDM_DEMO_DIR``), ``iters`` iterations."""
    os.environ['DLDM_DEMO_DIR'] = osp.abspath(work)
    options = dict(options or {}, **schedule_options(iters, seed))
    run_dir = osp.join(work, 'segmentors', f'seed{seed}', name)
    return reuse_or_run(run_dir, run_alpha, config, alpha, run_dir, options,
                        variant, identity=alpha_run_identity(
                            config, alpha, options, variant))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--demo', required=True,
                        help="the Brazil demo's work dir (its set, its "
                        'seed-0 real-only segmentor)')
    parser.add_argument('--work', required=True,
                        help='the work dir of the set to filter (the kl6 '
                        'work dir)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--name', default='bkl6_more')
    parser.add_argument('--reference', help="the filter's real-only "
                        "segmentor run (default: the demo's seed 0)")
    parser.add_argument('--label', default='kl6',
                        help="the --work set's name in <name>.json")
    parser.add_argument('--out-dir', default=HERE,
                        help='where <name>.json goes (default: here)')
    args = parser.parse_args()
    speed_up_configs()
    reference = finished_run(
        args.reference or osp.join(args.demo, 'sweep', 'alpha_0'), CONFIG)
    variant = class_filter_variant(reference, osp.abspath(osp.join(
        args.work, 'data', 'brazil_buildings')), True, 'val')
    for seed in args.seeds:
        run(args.work, 'alpha_0.4_filter_val', seed, 0.4, variant)
    for work in (args.work, args.demo):
        run(work, 'alpha_1', 0, 1.0)
    keys = rare_keys('building')[:2]
    out = osp.join(args.work, 'segmentors')
    summary = dict(
        iters=ITERS,
        filtered=summarise_runs(out, ['alpha_0.4_filter_val'], args.seeds,
                                keys)['alpha_0.4_filter_val'],
        alpha_1_seed0={
            name: {split: {k: load(osp.join(work, 'segmentors', 'seed0',
                                            'alpha_1', file))[k]
                           for k in keys}
                   for split, file in (('val', 'val_metrics.json'),
                                       ('test', 'metrics.json'))}
            for name, work in ((args.label, args.work),
                               ('demo', args.demo))})
    write_verdict(osp.join(args.out_dir, f'{args.name}.json'), summary)


if __name__ == '__main__':
    main()
