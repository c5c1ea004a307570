"""The reading of ``rule.md``: stage 2 with and without ``class_balance``
painting the budget's real val masks (``stage2.json``, ``run.sh``), and
the addendum's segmentors (``real_masks.json``, ``downstream.sh``)
beside the plain stage 2's real-mask arm
(``../brazil_real_masks/real_masks.json``); writes ``verdict.json``::

    python docs/results/stage2_class_balance/verdict.py > \\
        docs/results/stage2_class_balance/verdict.md
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import (load, margins, rare_keys,  # noqa: E402
                       side_by_side, write_verdict)

ARM = 'alpha_0.4_real_masks'
KEYS = ('consistency_mIoU', 'consistency_IoU.background',
        'consistency_IoU.building')


def main():
    stage2 = load(osp.join(HERE, 'stage2.json'))['stage2']
    print('| stage 2 on the real masks | ' + ' | '.join(
        f'{split} {key[12:]}' for split in ('val', 'test') for key in KEYS)
        + ' |')
    print('| --- ' * (1 + 2 * len(KEYS)) + '|')
    for name, result in stage2.items():
        print(f'| {name} | ' + ' | '.join(
            f'{result[split][key]:.2f}' for split in ('val', 'test')
            for key in KEYS) + ' |')
    plain, balanced = stage2['plain']['val'], stage2['class_balance']['val']
    gain = {key: round(balanced[key] - plain[key], 2) for key in KEYS}
    verdict = dict(val_gain=gain, passes=(
        gain['consistency_IoU.building'] >= 3
        and gain['consistency_mIoU'] >= 0))
    verdict['predictions'] = {
        'val building consistency IoU rises by at least 3 points':
            gain['consistency_IoU.building'] >= 3,
        'val background consistency IoU falls, by less than 3 points':
            -3 < gain['consistency_IoU.background'] < 0}
    print()
    print(f'val gain: {gain}; the bar is '
          f'{"met" if verdict["passes"] else "missed"}')
    for text, held in verdict['predictions'].items():
        print(f'- {text}: {"held" if held else "missed"}')
    downstream = osp.join(HERE, 'real_masks.json')
    if osp.isfile(downstream):
        runs = load(downstream)['class_balance']
        runs['plain'] = load(osp.join(HERE, '..', 'brazil_real_masks',
                                      'real_masks.json'))['budget'][ARM]
        print()
        print('\n'.join(side_by_side(
            {'real only': runs['real'],
             'real masks, plain stage 2': runs['plain'],
             'real masks, class-balanced stage 2': runs[ARM]},
            rare_keys('building'), 'budget, seeds 0-2, alpha 0.4')))
        over = {f'{split} over {other}': m for split in ('val', 'test')
                for other, m in margins(runs, ARM, ['real', 'plain'],
                                        split, 'mIoU').items()}
        verdict['downstream'] = dict(
            margins=over, helps=over['val over real']['beyond_std'])
        print()
        for name, m in over.items():
            print(f'- mIoU, {name}: {m["margin"]:+.2f} (larger std '
                  f'{m["larger_std"]:.2f})'
                  + (' (read only)' if name.startswith('test') else ''))
        print('- helps (above real only on val beyond the std): '
              f'{"yes" if verdict["downstream"]["helps"] else "no"}')
        print('- stated in advance, not above real only beyond the std: '
              f'{"missed" if verdict["downstream"]["helps"] else "held"}')
    write_verdict(osp.join(HERE, 'verdict.json'), verdict)


if __name__ == '__main__':
    main()
