"""The rule of ``rule.md``: reads the segmentor runs over the set painted
through kl6 (``bkl6_1500.json``, from ``../long_schedule/run.py``)
beside the Brazil demo's runs over its own set
(``../real_brazil/verdict.json``), checks that real only and
oversampling repeat, prints the README's table and the gate, and writes
``verdict.json``::

    python docs/results/brazil_image_vae/verdict.py
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import (issue_bar, load, side_by_side,  # noqa: E402
                       write_verdict)

RARE = 'building'
KEYS = ('mIoU', f'IoU.{RARE}')


def main():
    new = load(osp.join(HERE, 'bkl6_1500.json'))
    before = load(osp.join(HERE, '..', 'real_brazil',
                           'verdict.json'))['arms']
    columns = {'real only': new['real'],
               'oversampling 40%': new['oversample40'],
               "alpha 0.4, the demo's image VAE": before['alpha_0.4'],
               'alpha 0.4, kl6': new['alpha_0.4']}
    repeats = {run: {split: {key: new[run][split][key]['mean']
                             - before[run][split][key]['mean']
                             for key in KEYS} for split in ('val', 'test')}
               for run in ('real', 'oversample40')}
    print('\n'.join(side_by_side(columns, KEYS,
                                 'seeds 0-2, 1500 iterations')))
    verdict = issue_bar(new, 'alpha_0.4', ['real', 'oversample40'], RARE)
    verdict['baselines_minus_the_demo_runs'] = repeats
    verdict['baselines_repeat_the_demo_runs'] = all(
        abs(d) < 1e-6 for run in repeats.values()
        for split in run.values() for d in split.values())
    write_verdict(osp.join(HERE, 'verdict.json'), verdict)


if __name__ == '__main__':
    main()
