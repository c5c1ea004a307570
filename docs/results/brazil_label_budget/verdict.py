"""The rule of ``rule.md``: reads the segmentors at the 90-tile budget
(``bbud_1500.json`` from ``../long_schedule/run.py``, ``bbud_more.json``
from ``../brazil_image_vae/more_arms.py``) beside real only on the full
train split (``../brazil_image_vae/bkl6_1500.json``), picks the synthetic
arm of higher val mIoU, applies the issue's bar, checks the predictions,
prints the README's table and writes ``verdict.json``; with the
addendum's sweep (``bbud_sweep_1500.json``, ``../vegas_both/run.py``)
also each alpha's gate and the test plot ``bbud_sweep_alpha.png``::

    python docs/results/brazil_label_budget/verdict.py > \\
        docs/results/brazil_label_budget/verdict.md
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import (issue_bar, load, plot,  # noqa: E402
                       rare_keys, side_by_side, write_verdict)

RARE = 'building'
CANDIDATES = ('alpha_0.4', 'alpha_0.4_filter_val')


def main():
    runs = load(osp.join(HERE, 'bbud_1500.json'))
    more = load(osp.join(HERE, 'bbud_more.json'))
    runs['alpha_0.4_filter_val'] = more['filtered']
    full = load(osp.join(HERE, '..', 'brazil_image_vae',
                         'bkl6_1500.json'))['real']
    candidate = max(CANDIDATES,
                    key=lambda r: runs[r]['val']['mIoU']['mean'])
    columns = {'real only, 720 tiles': full,
               'real only, 90 tiles': runs['real'],
               'oversampling 40%': runs['oversample40'],
               'alpha 0.4': runs['alpha_0.4'],
               'alpha 0.4 + filter (val means)':
                   runs['alpha_0.4_filter_val']}
    keys = rare_keys(RARE)[:2]
    print('\n'.join(side_by_side(columns, keys, 'seeds 0-2, 1500 iterations')))
    verdict = issue_bar(runs, candidate, ['real', 'oversample40'], RARE)
    verdict['candidate'] = candidate
    val = {r: runs[r]['val']['mIoU']
           for r in ('real', 'oversample40', 'alpha_0.4')}
    stds = [v['std'] for v in val.values()]
    predictions = {
        'real only loses at least 3 val mIoU to the full train split':
            full['val']['mIoU']['mean'] - val['real']['mean'] >= 3,
        'alpha 0.4 has a higher val mIoU mean than real only':
            val['alpha_0.4']['mean'] > val['real']['mean'],
        'the gate fails': not verdict['val_picks'],
        'the seed spread at 90 tiles is at least 1.5 (an arm of the three)':
            max(stds) >= 1.5}
    stage2_file = osp.join(HERE, 'stage2.json')
    if osp.isfile(stage2_file):
        fraction = load(stage2_file)['stage2']['budget']['val']['fraction']
        predictions['stage 2 of the budget keeps at least 0.6 on the real '
                    'val masks'] = fraction >= 0.6
    verdict['predictions'] = predictions
    verdict['alpha_1_seed0'] = more['alpha_1_seed0']
    print()
    print(f'candidate (higher val mIoU mean): {candidate}; the gate '
          f'{"passes" if verdict["val_picks"] else "fails"}')
    for baseline, m in verdict['val_mIoU'].items():
        print(f'  val mIoU over {baseline}: {m["margin"]:+.2f} (larger std '
              f'{m["larger_std"]:.2f})')
    for baseline, m in verdict['test_mIoU'].items():
        print(f'  test mIoU over {baseline} (read only): '
              f'{m["margin"]:+.2f} (larger std {m["larger_std"]:.2f})')
    for text, held in predictions.items():
        print(f'- {text}: {"held" if held else "missed"}')
    sweep_file = osp.join(HERE, 'bbud_sweep_1500.json')
    if osp.isfile(sweep_file):
        verdict['sweep'] = sweep(load(sweep_file))
    write_verdict(osp.join(HERE, 'verdict.json'), verdict)


def sweep(runs):
    """The addendum: each alpha against the gate, its predictions, and
    the test plot ``bbud_sweep_alpha.png``."""
    alphas = sorted((r for r in runs if r.startswith('alpha_')),
                    key=lambda r: float(r[len('alpha_'):]))
    print()
    print('\n'.join(side_by_side(
        {'real only': runs['real'], 'oversampling 40%': runs['oversample40'],
         **{a.replace('_', ' '): runs[a] for a in alphas}},
        rare_keys(RARE)[:2], 'seeds 0-2, 1500 iterations')))
    gates = {a: issue_bar(runs, a, ['real', 'oversample40'], RARE)
             for a in alphas}
    means = [runs[a]['val']['mIoU']['mean'] for a in alphas]
    out = dict(passes=[a for a, g in gates.items() if g['val_picks']],
               val_mIoU={a: g['val_mIoU'] for a, g in gates.items()},
               predictions={
                   'no alpha passes': not any(
                       g['val_picks'] for g in gates.values()),
                   'val mIoU falls from alpha 0.2 to 1.0': all(
                       later < earlier for earlier, later in
                       zip(means, means[1:]))})
    for text, held in out['predictions'].items():
        print(f'- {text}: {"held" if held else "missed"}')
    plot(dict(runs={('alpha_0' if r == 'real' else r): s
                    for r, s in runs.items() if r != 'iters'}),
         RARE, osp.join(HERE, 'bbud_sweep_alpha.png'))
    return out


if __name__ == '__main__':
    main()
