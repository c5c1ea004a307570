"""The reading of ``rule.md``, for each setting whose files are here: the
colour gate (``colours*.json``), stage 2 on the real masks
(``stage2*.json``), and the segmentors on the appearance set beside the
plain set's (the full data: ``bapp_1500.json``, ``bapp_more.json`` beside
``../brazil_image_vae/``'s kl6 runs; the 90-tile budget of the addendum:
``bbud_app_*.json`` beside ``../brazil_label_budget/``'s); writes
``verdict.json``::

    python docs/results/brazil_appearance/verdict.py > \\
        docs/results/brazil_appearance/verdict.md
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import (load, margins, rare_keys,  # noqa: E402
                       side_by_side, write_verdict)

STAGE2_KEYS = ('consistency_mIoU', 'consistency_IoU.building', 'fraction')
#: per setting: its files here, the plain arm's name and files
SETTINGS = {
    'full': dict(
        plain='kl6', colours='colours.json', stage2='stage2.json',
        ours='bapp_1500.json', more='bapp_more.json',
        base=('brazil_image_vae', 'bkl6_1500.json', 'bkl6_more.json')),
    'budget': dict(
        plain='budget', colours='colours_budget.json',
        stage2='stage2_budget.json', ours='bbud_app_1500.json',
        more='bbud_app_more.json',
        base=('brazil_label_budget', 'bbud_1500.json', 'bbud_more.json')),
}


def colour_gate(files):
    colours = load(osp.join(HERE, files['colours']))
    print('| set | class | colour-word agreement | chance | Delta E | pairs |')
    print('| --- | --- | --- | --- | --- | --- |')
    for name, per_class in colours.items():
        for cls, row in per_class.items():
            print(f'| {name} | {cls} | {row["agreement"]:.3f} | '
                  f'{row["chance"]:.3f} | {row["delta_e"]:.1f} | '
                  f'{row["pairs"]} |')
    gain = colours['appearance']['background']['agreement'] - \
        colours[files['plain']]['background']['agreement']
    print(f'\ngate: background agreement {gain:+.3f} over the '
          f'{files["plain"]} set (needs +0.15): '
          f'{"passed" if gain >= 0.15 else "failed"}')
    return dict(background_agreement_gain=gain, passes=gain >= 0.15)


def stage2_on_real_masks(files):
    stage2 = load(osp.join(HERE, files['stage2']))['stage2']
    print('\n| stage 2 on the real masks | ' + ' | '.join(
        f'{split} {key}' for split in ('val', 'test')
        for key in STAGE2_KEYS) + ' |')
    print('| --- ' * (1 + 2 * len(STAGE2_KEYS)) + '|')
    for name, result in stage2.items():
        print(f'| {name} | ' + ' | '.join(
            f'{result[split][key]:.2f}' for split in ('val', 'test')
            for key in STAGE2_KEYS) + ' |')
    return stage2['appearance']['val']['consistency_mIoU'] - \
        stage2[files['plain']]['val']['consistency_mIoU']


def segmentors(files, verdict):
    plain = files['plain']
    ours, more = (load(osp.join(HERE, files[k])) for k in ('ours', 'more'))
    folder, base_file, base_more_file = files['base']
    base = load(osp.join(HERE, '..', folder, base_file))
    base_more = load(osp.join(HERE, '..', folder, base_more_file))
    runs = {'real only': ours['real'],
            'oversampling 40%': ours['oversample40'],
            plain: base['alpha_0.4'],
            f'{plain} + filter': base_more['filtered'],
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
    best = max(('appearance', 'appearance + filter'),
               key=lambda n: runs[n]['val']['mIoU']['mean'])
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
    return {name: {split: runs[name][split]['mIoU']['mean']
                   for split in ('val', 'test')} for name in runs}


def main():
    verdicts = {}
    for setting, files in SETTINGS.items():
        if not osp.isfile(osp.join(HERE, files['more'])):
            continue
        print(f'## {setting}\n')
        verdict = verdicts[setting] = dict(colour_gate=colour_gate(files))
        verdict['stage2_val_mIoU_gain'] = stage2_on_real_masks(files)
        mean = segmentors(files, verdict)
        plain = files['plain']
        loss = mean['real only']['test'] - mean[plain]['test']
        verdict['predictions'] = {
            'the colour gate passes': verdict['colour_gate']['passes'],
            f"stage 2's val consistency within 3 mIoU of {plain}'s":
                abs(verdict['stage2_val_mIoU_gain']) <= 3,
            f'alpha 0.4 within 1.0 val mIoU of the {plain} set':
                abs(mean['appearance']['val'] - mean[plain]['val']) <= 1.0,
            'the adoption bar is missed': not verdict['adopted'],
            f"on test it loses less than the {plain} set's {loss:.2f} "
            'against real only':
                mean['real only']['test'] - mean['appearance']['test']
                < loss}
        print()
        for text, held in verdict['predictions'].items():
            print(f'- stated in advance, {text}: '
                  f'{"held" if held else "missed"}')
        print()
    write_verdict(osp.join(HERE, 'verdict.json'), verdicts)


if __name__ == '__main__':
    main()
