"""``rule.md``'s reading of ``sweep.json`` and ``pretrain.json``: every
arm's val and test mean ± std over seeds 0-4, the val pick, the issue's
bar and the predictions. Writes ``verdict.json`` and prints the markdown
of ``verdict.md``::

    python docs/results/brazil_budget_use/verdict.py > \\
        docs/results/brazil_budget_use/verdict.md
"""
import json
import os.path as osp
import sys

from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import label, load, margins  # noqa: E402

BASELINES = ('alpha_0', 'oversample40')
BN = ' + real BN'
NOT_SYNTHETIC = tuple(f'{name}{bn}' for name in BASELINES + (
    'real_then_real',) for bn in ('', BN))
NAMES = dict(alpha_0='real only', syn_only='synthetic only',
             syn_then_real='synthetic, then real',
             real_then_real='real, then real (control)',
             **{f'alpha_0.4_eroded{w}': f'alpha 0.4, boundaries unlabelled '
                f'({w} px)' for w in (1, 2)})
KEYS = ('mIoU', 'IoU.building', 'Precision.building', 'Recall.building')


def cell(run, split, key):
    if key not in run[split]:
        return ''
    value = run[split][key]
    return f'{value["mean"]:.2f} ± {value["std"]:.2f}'


def main():
    sweep = load(osp.join(HERE, 'sweep.json'))
    pretrain = load(osp.join(HERE, 'pretrain.json'))
    runs = dict(sweep['runs'])
    real_again = pretrain['real']['val']['mIoU']['per_seed']
    reproduced = real_again == runs['alpha_0']['val']['mIoU']['per_seed']
    runs.update({name: pretrain[name] for name in
                 ('syn_only', 'syn_then_real', 'real_then_real')})
    real_bn = load(osp.join(HERE, 'real_bn.json'))['runs']  # addendum 2
    same = real_bn['pretrain_real']['val']['mIoU']['per_seed'] == \
        real_bn['alpha_0']['val']['mIoU']['per_seed']
    runs.update({name.replace('pretrain_', '') + BN: numbers
                 for name, numbers in real_bn.items()
                 if name != 'pretrain_real'})
    for name, run in runs.items():
        if run['seeds'] != sweep['seeds']:
            raise ValueError(f'{name}: seeds {run["seeds"]}, the rule asks '
                             f'for {sweep["seeds"]}')

    def mean(arm, split='val', key='mIoU'):
        return runs[arm][split][key]['mean']

    pick = max(runs, key=mean)
    val_margins = margins(runs, pick, [b for b in BASELINES if b != pick],
                          'val', 'mIoU')
    bar_val = pick not in NOT_SYNTHETIC and all(
        m['beyond_std'] for m in val_margins.values())
    filtered = {r: mean(r) - mean('alpha_0') for r in runs
                if r.endswith('_filter_val')}
    predictions = {
        'the bar is missed': not bar_val,
        'no filtered alpha above real only on val by more than 1.0':
            max(filtered.values()) <= 1.0,
        'unfiltered alpha 1.0 below real only on val':
            mean('alpha_1') < mean('alpha_0'),
        'synthetic-then-real below the control on val':
            mean('syn_then_real') < mean('real_then_real'),
        'the set alone reaches 50% of real only val building IoU':
            mean('syn_only', key='IoU.building')
            >= 0.5 * mean('alpha_0', key='IoU.building'),
    }
    eroded = [f'alpha_0.4_eroded{w}' for w in (1, 2)]  # the addendum's
    missing = [r for r in eroded if r not in runs]
    if missing:
        raise ValueError(f'sweep.json lacks the addendum\'s {missing}: run '
                         'sweep.py again (finished runs are reused)')
    predictions['both widths raise val building precision over '
                'unfiltered alpha 0.4'] = all(
        mean(r, key='Precision.building')
        > mean('alpha_0.4', key='Precision.building') for r in eroded)
    predictions['neither width above real only on val by more than real '
                'only\'s std'] = all(
        mean(r) - mean('alpha_0') <= runs['alpha_0']['val']['mIoU']['std']
        for r in eroded)

    def moved(arm, split):  # what real BN did to an arm's mean mIoU
        return mean(arm + BN, split) - mean(arm, split)

    predictions['real BN moves real only on val by less than 1.0'] = \
        abs(moved('alpha_0', 'val')) < 1.0
    predictions['real BN raises unfiltered alpha 1.0 on test more than '
                'real only'] = moved('alpha_1', 'test') > max(
                    moved('alpha_0', 'test'), 0.0)
    verdict = dict(seeds=sweep['seeds'], pick=pick,
                   real_only_reproduced=reproduced,
                   real_bn_of_both_real_only_runs_equal=same,
                   real_bn_shift={arm: {split: moved(arm, split) for split in
                                        ('val', 'test')}
                                  for arm in runs if arm + BN in runs},
                   val_margins=val_margins,
                   bar_met_on_val=bar_val, predictions_held=predictions)
    if bar_val:
        verdict['test'] = {key: margins(runs, pick, list(BASELINES), 'test',
                                        key)
                           for key in ('mIoU', 'IoU.building')}
    with atomic_open(osp.join(HERE, 'verdict.json')) as f:
        json.dump(verdict, f, indent=1)
    print('# Verdict of rule.md (written by verdict.py)\n')
    print(f'Segmentor seeds {sweep["seeds"]}; mean ± std (ddof 1).\n')
    print('| arm | val mIoU | val building IoU | val building precision '
          '| val building recall | test mIoU | test building IoU |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for name, run in runs.items():
        bare = name.replace(BN, '')
        shown = (NAMES.get(bare) or label(bare).replace('filter val',
                                                        'filter')) + (
            BN if name.endswith(BN) else '')
        if name == pick:
            shown = f'**{shown}** (val pick)'
        print(f'| {shown} | ' + ' | '.join(
            [cell(run, 'val', k) for k in KEYS]
            + [cell(run, 'test', k) for k in KEYS[:2]]) + ' |')
    print(f'\nReal only rerun by the pre-training harness reproduces the '
          f'budget\'s val scores seed for seed: {reproduced}.\n')
    print(f'Val pick: {NAMES.get(pick, label(pick))}. Bar met on val: '
          f'{bar_val}.\n')
    for baseline, m in val_margins.items():
        print(f'- over {NAMES.get(baseline, label(baseline))}: '
              f'{m["margin"]:+.2f} val mIoU, larger std '
              f'{m["larger_std"]:.2f}')
    print('\nPredictions:\n')
    for text, held in predictions.items():
        print(f'- {text}: {"held" if held else "**missed**"}')


if __name__ == '__main__':
    main()
