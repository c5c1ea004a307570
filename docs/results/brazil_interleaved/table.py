"""The issue's table and alpha sweep on the interleaved Brazil budget.

Beside ``run.py``'s arms it trains, at 3000 iterations, alpha 0.2 and
0.6 on the appearance set with the class-relative filter and alpha 0.4
without it, seeds 0-2; paints the real val and test masks with stage 2
and reads them with the filter's judge (the consistency row,
``../image_vae_texture/paint.py``); then writes ``table.md`` /
``table.json`` (the issue's table: real only, oversampling, alpha 0.4,
alpha 0.4 with the filter and val's best synthetic arm) and
``alpha_test.png`` (test mIoU and building IoU against alpha). A report,
not a choice: no setting is picked from it. Runs are reused when
finished; ``--read`` only reads::

    python docs/results/brazil_interleaved/table.py --work work_dirs/bint \\
        --seeds 0 1 2
"""
import json
import os.path as osp
import subprocess
import sys

from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
for folder in ('synthetic_gain', 'brazil_image_vae', 'brazil_budget_use'):
    sys.path.insert(0, osp.join(HERE, '..', folder))
from aggregate import (finished_seeds, plot, rare_keys,  # noqa: E402
                       summarise_runs, write_verdict)
from budget_use import cell, filter_variant, mean, parse_args  # noqa: E402
from long_synthetic import ITERS  # noqa: E402
from more_arms import run  # noqa: E402

NEW = {'alpha_0.2_filter_val_3000': (0.2, True),
       'alpha_0.6_filter_val_3000': (0.6, True),
       'alpha_0.4_3000': (0.4, False)}
SYNTHETIC = ['alpha_0.2_filter_val_3000', 'alpha_0.4_3000',
             'alpha_0.4_filter_val_3000', 'alpha_0.6_filter_val_3000',
             'alpha_1_filter_val_3000']
RUNS = ['real_3000', 'oversample40_3000'] + SYNTHETIC
KEYS = list(rare_keys('building')) + ['IoU.background']


def label(name):
    """``alpha_0.4_filter_val_3000`` -> ``alpha 0.4, filter``."""
    names = {'real_3000': 'real only', 'oversample40_3000':
             'oversampling 40%'}
    if name in names:
        return names[name]
    alpha = name.split('_')[1]
    return f'alpha {alpha}' + (', filter' if 'filter' in name else '')


def consistency(work, out_dir):
    """Stage 2 on the real val and test masks, read by the judge
    (``<out_dir>/stage2.json``, made once for ``work``)."""
    out = osp.join(out_dir, 'stage2.json')
    if osp.isfile(out):
        with open(out, encoding='utf-8') as f:
            made = json.load(f)['stage2']['interleaved']['work_dir']
        if made != osp.abspath(work):
            raise SystemExit(f'{out} was painted for {made}, not {work}: '
                             'give another --out-dir')
    else:
        subprocess.run(
            [sys.executable, 'docs/results/image_vae_texture/paint.py',
             '--dataset', 'brazil_buildings_interleaved',
             f'interleaved={work}', '--reference',
             osp.join(work, 'segmentors', 'seed0', 'real'), '--out', out],
            check=True)
    with open(out, encoding='utf-8') as f:
        return json.load(f)


def report(runs, seeds, stage2):
    """The markdown of ``table.md`` and its numbers."""
    best = max(SYNTHETIC, key=lambda name: mean(runs, name, 'val'))
    columns = ['real_3000', 'oversample40_3000', 'alpha_0.4_3000',
               'alpha_0.4_filter_val_3000', best]
    painted = stage2['stage2']['interleaved']
    fraction = ' | '.join(
        '–' if name in ('real_3000', 'oversample40_3000') else
        f'{painted["test"]["fraction"]:.2f} (val '
        f'{painted["val"]["fraction"]:.2f})' for name in columns)
    rows = [('val mIoU', 'val', 'mIoU'), ('test mIoU', 'test', 'mIoU'),
            ('test building IoU', 'test', 'IoU.building'),
            ('test background IoU', 'test', 'IoU.background')]
    lines = ['# The issue\'s table on the interleaved budget', '',
             f'Seeds {seeds}, 3000 iterations, mean ± std. The last column '
             f'is val\'s best synthetic arm ({label(best)}).', '',
             '| | ' + ' | '.join(label(n) for n in columns) + ' |',
             '| --- ' * (len(columns) + 1) + '|']
    for title, split, key in rows:
        lines.append(f'| {title} | ' + ' | '.join(
            cell(runs, n, split, key) for n in columns) + ' |')
    lines += [f'| consistency (test, fraction of real-image mIoU) | '
              f'{fraction} |', '', '## Every arm', '',
              '| arm | val mIoU | test mIoU | test building IoU | test '
              'building precision / recall |', '| --- ' * 5 + '|']
    for name in RUNS:
        lines.append(
            f'| {label(name)} | {cell(runs, name, "val")} | '
            f'{cell(runs, name, "test")} | '
            f'{cell(runs, name, "test", "IoU.building")} | '
            f'{mean(runs, name, "test", "Precision.building"):.1f} / '
            f'{mean(runs, name, "test", "Recall.building"):.1f} |')
    return '\n'.join(lines) + '\n', dict(best_synthetic=best)


def main():
    args = parse_args(__doc__, out_dir=HERE, read=True, budget=False)
    speed_up_configs()
    if not args.read:
        variant = filter_variant(args.work, args.work)
        for seed in args.seeds:
            for name, (alpha, filtered) in NEW.items():
                run(args.work, name, seed, alpha,
                    variant if filtered else None, iters=ITERS)
    stage2 = consistency(args.work, args.out_dir)
    out = osp.join(args.work, 'segmentors')
    seeds = sorted(set(args.seeds) & set(finished_seeds(out, RUNS)))
    if len(seeds) < 3:
        raise SystemExit(f'only seeds {seeds} of {args.seeds} have every '
                         f'arm finished under {out}: train more (leave out '
                         '--read)')
    runs = summarise_runs(out, RUNS, seeds, KEYS)
    text, verdict = report(runs, seeds, stage2)
    with atomic_open(osp.join(args.out_dir, 'table.md')) as f:
        f.write(text)
    write_verdict(osp.join(args.out_dir, 'table.json'),
                  dict(iters=ITERS, seeds=seeds, runs=runs, **verdict))
    # the plot names a line by what follows the alpha in the run name
    swept = {name[:-len('_3000')].replace('real', 'alpha_0').replace(
        'filter_val', 'class-relative_filter'): numbers
        for name, numbers in runs.items()}
    plot(dict(runs=swept), 'building', osp.join(args.out_dir,
                                                'alpha_test.png'))


if __name__ == '__main__':
    main()
