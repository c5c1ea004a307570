"""The reading of ``rule.md``: the colour gate (``colours.json``), stage 2
on the real masks (``stage2.json``), and the segmentors on the
appearance set (``bapp_1500.json``, ``bapp_more.json``) beside the kl6
set's (``../brazil_image_vae/bkl6_1500.json``, ``bkl6_more.json``);
writes ``verdict.json``::

    python docs/results/brazil_appearance/verdict.py > \\
        docs/results/brazil_appearance/verdict.md
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import (load, margins, rare_keys,  # noqa: E402
                       side_by_side, write_verdict)

KL6 = osp.join(HERE, '..', 'brazil_image_vae')
STAGE2_KEYS = ('consistency_mIoU', 'consistency_IoU.building', 'fraction')
CANDIDATES = ('appearance', 'appearance + filter')


def colour_gate(verdict):
    colours = load(osp.join(HERE, 'colours.json'))
    print('| set | class | colour-word agreement | chance | Delta E | pairs |')
    print('| --- | --- | --- | --- | --- | --- |')
    for name, per_class in colours.items():
        for cls, row in per_class.items():
            print(f'| {name} | {cls} | {row["agreement"]:.3f} | '
                  f'{row["chance"]:.3f} | {row["delta_e"]:.1f} | '
                  f'{row["pairs"]} |')
    gain = colours['appearance']['background']['agreement'] - \
        colours['kl6']['background']['agreement']
    verdict['colour_gate'] = dict(background_agreement_gain=gain,
                                  passes=gain >= 0.15)
    print(f'\ngate: background agreement {gain:+.3f} over the kl6 set '
          f'(needs +0.15): {"passed" if gain >= 0.15 else "failed"}')


def stage2_on_real_masks(verdict):
    stage2 = load(osp.join(HERE, 'stage2.json'))['stage2']
    print('\n| stage 2 on the real masks | ' + ' | '.join(
        f'{split} {key}' for split in ('val', 'test')
        for key in STAGE2_KEYS) + ' |')
    print('| --- ' * (1 + 2 * len(STAGE2_KEYS)) + '|')
    for name, result in stage2.items():
        print(f'| {name} | ' + ' | '.join(
            f'{result[split][key]:.2f}' for split in ('val', 'test')
            for key in STAGE2_KEYS) + ' |')
    verdict['stage2_val_mIoU_gain'] = \
        stage2['appearance']['val']['consistency_mIoU'] - \
        stage2['kl6']['val']['consistency_mIoU']


def main():
    verdict = {}
    colour_gate(verdict)
    stage2_on_real_masks(verdict)
    ours, more = load(osp.join(HERE, 'bapp_1500.json')), \
        load(osp.join(HERE, 'bapp_more.json'))
    kl6, kl6_more = load(osp.join(KL6, 'bkl6_1500.json')), \
        load(osp.join(KL6, 'bkl6_more.json'))
    runs = {'real only': ours['real'],
            'oversampling 40%': ours['oversample40'],
            'kl6': kl6['alpha_0.4'], 'kl6 + filter': kl6_more['filtered'],
            'appearance': ours['alpha_0.4'],
            'appearance + filter': more['filtered']}
    print()
    # the filtered arms' summaries (more_arms.py) hold mIoU and IoU only
    print('\n'.join(side_by_side(runs, rare_keys('building')[:2],
                                 'seeds 0-2, alpha 0.4')))
    print()
    print('\n'.join(side_by_side(
        {k: v for k, v in runs.items() if 'filter' not in k},
        rare_keys('building')[2:], 'seeds 0-2, alpha 0.4')))
    best = max(CANDIDATES, key=lambda n: runs[n]['val']['mIoU']['mean'])
    over = {split: margins(runs, best, ['real only', 'oversampling 40%'],
                           split, 'mIoU') for split in ('val', 'test')}
    # the rule: without the colour gate the arms say nothing of the lever
    adopted = verdict['colour_gate']['passes'] and all(
        m['beyond_std'] for m in over['val'].values())
    verdict.update(best_on_val=best, margins=over, adopted=adopted)
    print(f'\nval picks {best}')
    for split, per_baseline in over.items():
        for name, m in per_baseline.items():
            print(f'- {split} mIoU over {name}: {m["margin"]:+.2f} (larger '
                  f'std {m["larger_std"]:.2f})'
                  + (' (read only)' if split == 'test' else ''))
    print(f'- adoption bar: {"met" if adopted else "missed"}')
    mean = {name: {split: runs[name][split]['mIoU']['mean']
                   for split in ('val', 'test')} for name in runs}
    verdict['predictions'] = {
        'the colour gate passes': verdict['colour_gate']['passes'],
        "stage 2's val consistency within 3 mIoU of kl6's":
            abs(verdict['stage2_val_mIoU_gain']) <= 3,
        'alpha 0.4 within 1.0 val mIoU of the kl6 set':
            abs(mean['appearance']['val'] - mean['kl6']['val']) <= 1.0,
        'the adoption bar is missed': not adopted,
        "on test it loses less than the kl6 set's 2.47 against real only":
            mean['real only']['test'] - mean['appearance']['test'] < 2.47}
    print()
    for text, held in verdict['predictions'].items():
        print(f'- stated in advance, {text}: {"held" if held else "missed"}')
    write_verdict(osp.join(HERE, 'verdict.json'), verdict)


if __name__ == '__main__':
    main()
