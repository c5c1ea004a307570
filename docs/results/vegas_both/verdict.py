"""The rule of ``rule.md`` over ``both_1500.json`` (from ``run.py``):
prints the README's table, whether ``real_w4`` reproduced the stratified
rule's real-only runs, the pick, the gate and the issue's bar, the recipe
check and the prediction, and writes ``verdict.json``::

    python docs/results/vegas_both/verdict.py
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import (issue_bar, load, margins,  # noqa: E402
                       rare_keys, side_by_side, write_verdict)

RARE = 'road'
CANDIDATES = ('alpha_0.4', 'both_0.2', 'both_0.4')
LABELS = {'real': 'real only', 'oversample40': 'oversampling 40%',
          'alpha_0.4': 'alpha 0.4', 'both_0.2': 'alpha 0.2 + oversampling 0.2',
          'both_0.4': 'alpha 0.4 + oversampling 0.4',
          'real_w4': 'real only, road weight 4'}


def main():
    runs = load(osp.join(HERE, 'both_1500.json'))
    seeds = runs['real']['seeds']
    if any(runs[r]['seeds'] != list(range(6)) for r in LABELS):
        raise SystemExit('rule.md judges seeds 0-5 of every run; '
                         'both_1500.json holds ' + ', '.join(
                             f'{r}: {runs[r]["seeds"]}' for r in LABELS))
    print('\n'.join(side_by_side({LABELS[r]: runs[r] for r in LABELS},
                                 rare_keys(RARE),
                                 f'seeds {seeds[0]}-{seeds[-1]}, 1500 it')))
    earlier = load(osp.join(HERE, '..', 'vegas_stratified',
                            'vegas_stratified_1500.json'))['runs']['alpha_0']
    first = earlier['seeds']  # 0-2, all in this harness's 0-5
    ours = dict(zip(runs['real_w4']['seeds'],
                    runs['real_w4']['val']['mIoU']['per_seed']))
    theirs = dict(zip(earlier['seeds'], earlier['val']['mIoU']['per_seed']))
    verdict = dict(seeds=seeds, real_w4_reproduces_stratified_rule=all(
        abs(ours[s] - theirs[s]) < 1e-6 for s in first),
        real_w4_val_mIoU={s: [ours[s], theirs[s]] for s in first})
    pick = max(CANDIDATES, key=lambda r: runs[r]['val']['mIoU']['mean'])
    verdict['pick'] = pick
    verdict['candidates_val_mIoU'] = {
        r: runs[r]['val']['mIoU']['mean'] for r in CANDIDATES}
    verdict.update(issue_bar(runs, pick, ['real', 'oversample40'], RARE))
    recipe = margins(runs, 'real', ['real_w4'], 'val', 'mIoU')['real_w4']
    verdict['recipe_real_only_val_mIoU'] = dict(
        recipe, adopt_road_weight_1=recipe['beyond_std'])
    recall = {r: runs[r]['val'][f'Recall.{RARE}']['mean']
              for r in ('both_0.4', 'oversample40', 'alpha_0.4')}
    others = max(recall['oversample40'], recall['alpha_0.4'])
    verdict['prediction_both_0.4_val_recall_highest'] = dict(
        recall, held=recall['both_0.4'] > others)
    write_verdict(osp.join(HERE, 'verdict.json'), verdict)


if __name__ == '__main__':
    main()
