"""The rule of ``rule.md`` on the stratified Las Vegas split: reads the
1500-iteration summary (``synthetic_gain/aggregate.py``) and the
3000-iteration one (``long_schedule/run.py``) written here, prints the
table and the verdict of each schedule, and writes ``verdict.json`` and
``val_test.png`` (val and test mIoU and road IoU of every candidate,
mean ± std over the seeds)::

    python docs/results/vegas_stratified/verdict.py
"""
import json
import os.path as osp
import sys

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import issue_bar, load, rare_keys  # noqa: E402

from dldm_mmseg.utils.io import atomic_open  # noqa: E402

RARE = 'road'
KEYS = rare_keys(RARE)
LABELS = {'real': 'real only', 'oversample40': 'oversampling 40%',
          'alpha_0.4': 'alpha 0.4'}


def schedules():
    """``{iterations: {run: summary}}`` under one set of run names."""
    short = load(osp.join(HERE, 'vegas_stratified_1500.json'))['runs']
    long = load(osp.join(HERE, 'vegas_stratified_3000.json'))
    return {1500: {'real': short['alpha_0'],
                   'oversample40': short['oversample40'],
                   'alpha_0.4': short['alpha_0.4']},
            3000: {run: long[run] for run in LABELS}}


def table(runs):
    fmt = '{mean:.2f} ± {std:.2f}'.format
    lines = ['| | ' + ' | '.join(LABELS.values()) + ' |',
             '| --- ' * (1 + len(LABELS)) + '|']
    for split in ('val', 'test'):
        for key in KEYS:
            lines.append(f'| {split} {key} | ' + ' | '.join(
                fmt(**runs[run][split][key]) for run in LABELS) + ' |')
    return lines


def plot(by_schedule, path):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key in zip(axes, ('mIoU', f'IoU.{RARE}')):
        names = [f'{LABELS[run]}\n{iters} it' for iters in by_schedule
                 for run in LABELS]
        for offset, split in ((-0.2, 'val'), (0.2, 'test')):
            values = [by_schedule[i][r][split][key] for i in by_schedule
                      for r in LABELS]
            ax.bar([n + offset for n in range(len(names))],
                   [v['mean'] for v in values], 0.4,
                   yerr=[v['std'] for v in values], capsize=3, label=split)
        low = min(by_schedule[i][r][s][key]['mean']
                  - by_schedule[i][r][s][key]['std']
                  for i in by_schedule for r in LABELS
                  for s in ('val', 'test'))
        ax.set_ylim(bottom=max(0, 5 * (low // 5) - 5))  # the differences
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, fontsize=7)
        ax.set_title(f'{key}, seeds 0-2 (mean ± std)')
        ax.legend()
    fig.suptitle('SpaceNet Las Vegas roads, stratified split')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    by_schedule = schedules()
    verdicts = {}
    for iters, runs in by_schedule.items():
        seeds = {run: runs[run]['seeds'] for run in LABELS}
        if any(s != [0, 1, 2] for s in seeds.values()):
            raise SystemExit(f'{iters} iterations: the rule needs seeds '
                             f'0-2 of every run, found {seeds}')
        verdict = issue_bar(runs, 'alpha_0.4', ['real', 'oversample40'],
                            RARE)
        verdicts[iters] = verdict
        print(f'\n### {iters} iterations\n')
        print('\n'.join(table(runs)))
        val = verdict['val_mIoU']
        print('\nval mIoU margins of alpha 0.4: ' + ', '.join(
            f'{m["margin"]:+.2f} over {LABELS[b]} (larger std '
            f'{m["larger_std"]:.2f})' for b, m in val.items()))
        test = verdict['test_mIoU']
        print('test mIoU margins: ' + ', '.join(
            f'{m["margin"]:+.2f} over {LABELS[b]} (larger std '
            f'{m["larger_std"]:.2f})' for b, m in test.items())
            + '; road IoU: ' + ', '.join(
            f'{m["margin"]:+.2f} over {LABELS[b]}'
            for b, m in verdict['test_rare_IoU'].items()))
        print('verdict: ' + ('val picks alpha 0.4, and it '
                             + ('meets' if verdict['test_bar'] else 'misses')
                             + " the issue's bar on test"
                             if verdict['val_picks'] else
                             'val does not pick alpha 0.4; the defaults '
                             'stay'))
    with atomic_open(osp.join(HERE, 'verdict.json')) as f:
        json.dump(verdicts, f, indent=1)
    plot(by_schedule, osp.join(HERE, 'val_test.png'))


if __name__ == '__main__':
    main()
