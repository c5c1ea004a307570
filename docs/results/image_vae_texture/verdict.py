"""The rule of ``rule.md``: reads the segmentor runs over the set painted
through the picked image VAE (``vtex_1500.json``, from
``../long_schedule/run.py``) beside the stratified rule's runs over the
shipped set (``../vegas_stratified/vegas_stratified_1500.json``), checks
that real only and oversampling repeat, prints the README's table and
the gate, and writes ``verdict.json``::

    python docs/results/image_vae_texture/verdict.py
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import (issue_bar, load, rare_keys,  # noqa: E402
                       side_by_side, write_verdict)

RARE = 'road'
KEYS = rare_keys(RARE)


def main():
    new = load(osp.join(HERE, 'vtex_1500.json'))
    before = load(osp.join(HERE, '..', 'vegas_stratified',
                           'vegas_stratified_1500.json'))['runs']
    columns = {'real only': new['real'],
               'oversampling 40%': new['oversample40'],
               'alpha 0.4, shipped image VAE': before['alpha_0.4'],
               'alpha 0.4, picked image VAE': new['alpha_0.4']}
    repeats = {run: all(
        abs(new[run][split][key]['mean'] - before[old][split][key]['mean'])
        < 1e-6 for split in ('val', 'test') for key in KEYS)
        for run, old in (('real', 'alpha_0'),
                         ('oversample40', 'oversample40'))}
    print('\n'.join(side_by_side(columns, KEYS,
                                 'seeds 0-2, 1500 iterations')))
    verdict = issue_bar(new, 'alpha_0.4', ['real', 'oversample40'], RARE)
    verdict['baselines_repeat_the_stratified_runs'] = repeats
    write_verdict(osp.join(HERE, 'verdict.json'), verdict)


if __name__ == '__main__':
    main()
