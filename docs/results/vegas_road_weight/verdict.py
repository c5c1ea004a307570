"""The rule of ``rule.md``: the runs with the plain cross-entropy (road
weight 1, ``road_weight1_1500.json`` from ``../long_schedule/run.py``)
beside the stratified rule's runs at road weight 4
(``../vegas_stratified/vegas_stratified_1500.json``); prints the
README's table, the gate at road weight 1 and the recipe check, and
writes ``verdict.json``::

    python docs/results/vegas_road_weight/verdict.py
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import (issue_bar, load, margins,  # noqa: E402
                       rare_keys, side_by_side, write_verdict)

RARE = 'road'
KEYS = rare_keys(RARE)


def main():
    weight1 = load(osp.join(HERE, 'road_weight1_1500.json'))
    weight4 = load(osp.join(HERE, '..', 'vegas_stratified',
                            'vegas_stratified_1500.json'))['runs']
    columns = {}
    for name, label in (('real', 'real only'),
                        ('oversample40', 'oversampling 40%'),
                        ('alpha_0.4', 'alpha 0.4')):
        columns[f'{label}, road weight 4'] = weight4[
            'alpha_0' if name == 'real' else name]
        columns[f'{label}, road weight 1'] = weight1[name]
    print('\n'.join(side_by_side(columns, KEYS, 'seeds 0-2, 1500 it')))
    verdict = issue_bar(weight1, 'alpha_0.4', ['real', 'oversample40'], RARE)
    recipe = margins(dict(weight1=weight1['real'], weight4=weight4['alpha_0']),
                     'weight1', ['weight4'], 'val', 'mIoU')['weight4']
    verdict['recipe_real_only_val_mIoU'] = dict(
        recipe, adopt_road_weight_1=recipe['beyond_std'])
    write_verdict(osp.join(HERE, 'verdict.json'), verdict)


if __name__ == '__main__':
    main()
