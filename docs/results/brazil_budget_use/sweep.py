"""``rule.md``'s alpha sweep at the Brazil 90-tile budget: alpha 0.2, 0.4,
0.6 and 1.0 on the appearance set with the class-relative filter, and
alpha 0.4 and 1.0 on it unfiltered, over segmentor seeds 0-4, beside the
budget's real only and oversampling; and its addendum's arms, alpha 0.4
unfiltered with the synthetic labels' class boundaries unlabelled, one
and two pixels each side (``IgnoreClassBoundaries``). Runs go to
``<work>/segmentors/seed<N>/<run>`` and are reused when finished with the
same settings. Writes ``sweep.json`` (every arm, val and test, mean ± std
and per seed) and ``alpha_test.png`` (test mIoU and building IoU against
alpha) here, or in ``--out-dir``::

    python docs/results/brazil_budget_use/sweep.py \\
        --budget work_dirs/bbud --work work_dirs/bbud_app
"""
import os.path as osp
import sys

from dldm_mmseg.utils.compat import speed_up_configs

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
sys.path.insert(0, osp.join(HERE, '..', 'brazil_image_vae'))
from aggregate import (plot, rare_keys, summarise_runs,  # noqa: E402
                       write_verdict)
from more_arms import ITERS, run  # noqa: E402
from budget_use import filter_variant, parse_args  # noqa: E402

FILTERED = (0.2, 0.4, 0.6, 1.0)
UNFILTERED = (0.4, 1.0)
ERODED_CONFIG = 'configs/demo/brazil/deeplabv3plus_brazil_syn40_eroded.py'
# run name: the boundary band's half-width (cfg-options)
ERODED = {
    f'alpha_0.4_eroded{width}': {
        'train_dataloader.dataset.datasets.1.pipeline.2.width': width}
    for width in (1, 2)}


def run_name(alpha, filtered):
    """``alpha_0.4_filter_val`` / ``alpha_1``: the names the earlier
    harnesses gave these runs, so that theirs are reused."""
    return f'alpha_{alpha:g}' + ('_filter_val' if filtered else '')


def main():
    args = parse_args(__doc__)
    speed_up_configs()
    variant = filter_variant(args.budget, args.work)
    arms = [(a, True) for a in FILTERED] + [(a, False) for a in UNFILTERED]
    for seed in args.seeds:
        for alpha, filtered in arms:
            run(args.work, run_name(alpha, filtered), seed, alpha,
                variant if filtered else None)
        for name, options in ERODED.items():
            run(args.work, name, seed, 0.4, config=ERODED_CONFIG,
                options=options)
    keys = list(rare_keys('building'))
    runs = summarise_runs(osp.join(args.budget, 'segmentors'),
                          ['real', 'oversample40'], args.seeds, keys)
    runs['alpha_0'] = runs.pop('real')
    runs.update(summarise_runs(osp.join(args.work, 'segmentors'),
                               [run_name(*arm) for arm in arms], args.seeds,
                               keys))
    # the plot's legend names a line by the run name's tail
    swept = {name.replace('_filter_val', '_class-relative_filter'): numbers
             for name, numbers in runs.items()}
    runs.update(summarise_runs(osp.join(args.work, 'segmentors'),
                               list(ERODED), args.seeds, keys))
    summary = dict(iters=ITERS, seeds=args.seeds, runs=runs)
    write_verdict(osp.join(args.out_dir, 'sweep.json'), summary)
    plot(dict(runs=swept), 'building',
         osp.join(args.out_dir, 'alpha_test.png'))
    for name, s in runs.items():
        print(f'{name:24s}', '  '.join(
            f'{split} {s[split]["mIoU"]["mean"]:.2f} ± '
            f'{s[split]["mIoU"]["std"]:.2f}' for split in ('val', 'test')))


if __name__ == '__main__':
    main()
