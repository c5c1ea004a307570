"""``rule.md``'s arms on the interleaved Brazil deal: a seed-0 real-only
segmentor of 1500 iterations (the filter's judge; trained in the work
dir, whose real tiles are the budget's), then seed by
seed real only, oversampling 40% and the appearance set at alpha 0.4 and
1.0 with the class-relative filter, 3000 iterations each
(``../brazil_budget_use/long_synthetic.py``'s runs, on this deal). Runs
go to ``<work>/segmentors/seed<N>/<run>`` and are reused when finished;
``--read`` only reads the finished seeds. Writes ``arms.json`` and
``arms.md`` here, or in ``--out-dir``::

    python docs/results/brazil_interleaved/run.py --work work_dirs/bint
"""
import os.path as osp
import sys

from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
for folder in ('synthetic_gain', 'brazil_image_vae', 'brazil_budget_use'):
    sys.path.insert(0, osp.join(HERE, '..', folder))
from aggregate import (finished_seeds, issue_bar, rare_keys,  # noqa: E402
                       summarise_runs, write_verdict)
from budget_use import cell, mean, parse_args  # noqa: E402
from long_synthetic import ITERS, NAMES  # noqa: E402
from long_synthetic import train as train_synthetic  # noqa: E402
from more_arms import run  # noqa: E402

KEYS = list(rare_keys('building')) + ['IoU.background']
BASES = ['real_3000', 'oversample40_3000']


def train(work, seeds):
    """The filter's judge, then every arm of each seed in turn."""
    run(work, 'real', 0, 0.0)
    for seed in seeds:
        run(work, 'real_3000', seed, 0.0, iters=ITERS)
        train_synthetic(work, work, [seed])


def order(runs, split):
    """The arms from best to worst mean mIoU on ``split``."""
    return sorted(NAMES, key=lambda name: -mean(runs, name, split))


def report(runs, seeds):
    """The markdown of ``arms.md`` and the verdict: the table, the pick,
    the bar and the predictions."""
    lines = ['# The budget on the interleaved deal (rule.md)', '',
             f'Seeds {seeds}, 3000 iterations, mean ± std.', '',
             '| arm | val mIoU | test mIoU | test - val | val building IoU '
             '| test building IoU | test background IoU | test building '
             'precision / recall |', '| --- ' * 8 + '|']
    for name, label in NAMES.items():
        gap = mean(runs, name, 'test') - mean(runs, name, 'val')
        lines.append(
            f'| {label} | {cell(runs, name, "val")} | '
            f'{cell(runs, name, "test")} | {gap:+.2f} | '
            f'{cell(runs, name, "val", "IoU.building")} | '
            f'{cell(runs, name, "test", "IoU.building")} | '
            f'{cell(runs, name, "test", "IoU.background")} | '
            f'{mean(runs, name, "test", "Precision.building"):.1f} / '
            f'{mean(runs, name, "test", "Recall.building"):.1f} |')
    by_val, by_test = order(runs, 'val'), order(runs, 'test')
    pick = by_val[0]
    # the bar of the pick, or of val's best synthetic arm when the pick
    # is a baseline (it then fails at its first comparison)
    best = next(name for name in by_val if name not in BASES)
    bar = issue_bar(runs, best, BASES, ['building', 'background'])
    met = pick == best and bar['test_bar']
    alpha_1 = 'alpha_1_filter_val_3000'
    held = {
        1: all(abs(mean(runs, n, 'test') - mean(runs, n, 'val')) <= 2.0
               for n in NAMES),
        2: by_val[0] == by_test[0],
        3: all(mean(runs, alpha_1, s) < mean(runs, 'real_3000', s)
               for s in ('val', 'test')),
        4: not met}
    word = {True: 'held', False: '**missed**'}
    names = {s: ' > '.join(NAMES[n] for n in o)
             for s, o in (('val', by_val), ('test', by_test))}
    margins = '; '.join(
        f'{split}: ' + ', '.join(
            f'{m["margin"]:+.2f} over {NAMES[b]} (larger std '
            f'{m["larger_std"]:.2f})' for b, m in bar[key].items())
        for split, key in (('val', 'val_mIoU'), ('test', 'test_mIoU')))
    lines += ['', f'- Val order: {names["val"]}.',
              f'- Test order: {names["test"]}.',
              f'- Val pick: **{NAMES[pick]}**. Val\'s best synthetic arm, '
              f'{NAMES[best]}: {margins}. The bar: '
              f'**{"met" if met else "missed"}**.', '',
              'Predictions (rule.md):', '',
              f'1. every arm\'s val and test means within 2.0: '
              f'{word[held[1]]}.',
              f'2. val\'s best arm is test\'s: {word[held[2]]}.',
              f'3. alpha 1.0 with the filter below real only on val and '
              f'test: {word[held[3]]}.',
              f'4. the bar is missed: {word[held[4]]}.']
    return '\n'.join(lines) + '\n', dict(
        pick=pick, best_synthetic=best, bar=bar, bar_met=met,
        predictions=held)


def main():
    args = parse_args(__doc__, out_dir=HERE, read=True, budget=False)
    speed_up_configs()
    if not args.read:
        train(args.work, args.seeds)
    out = osp.join(args.work, 'segmentors')
    seeds = sorted(set(args.seeds) & set(finished_seeds(out, list(NAMES))))
    if len(seeds) < 3:
        raise SystemExit(f'only seeds {seeds} of {args.seeds} have all four '
                         f'arms finished under {out}; rule.md reads at '
                         'least three: train more (leave out --read)')
    runs = summarise_runs(out, list(NAMES), seeds, KEYS)
    text, verdict = report(runs, seeds)
    with atomic_open(osp.join(args.out_dir, 'arms.md')) as f:
        f.write(text)
    write_verdict(osp.join(args.out_dir, 'arms.json'),
                  dict(iters=ITERS, seeds=seeds, runs=runs, **verdict))


if __name__ == '__main__':
    main()
