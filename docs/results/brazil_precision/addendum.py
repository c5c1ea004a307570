"""The addendum of ``rule.md``: alpha 1.0 with the filter on building
pixels only, over a set drawn without the frequency boost
(``shares.rarity_exponent=0``), and with the building pixels' limit at
once (not twice) their class's mean loss, on the interleaved Brazil
budget, 3000 iterations, seeds 0-2 (each arm's seeds in turn). Runs are
reused when finished; ``--read`` only reads the arms finished on every
seed. Writes ``addendum.md`` / ``addendum.json`` here, or in
``--out-dir``::

    python docs/results/brazil_precision/addendum.py --work work_dirs/bint
"""
import argparse
import json
import os.path as osp

import numpy as np

import run as precision
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.io import atomic_open, read_jsonl

ARMS = {'alpha_1_bfilter_noboost_val_3000':
        'alpha 1.0, filter on building only, no frequency boost',
        'alpha_1_bfilter_m1_val_3000':
        'alpha 1.0, filter on building only at 1x the mean loss'}
BESIDE = ['real_3000', 'oversample40_3000', 'alpha_1_filter_val_3000',
          'alpha_1_bfilter_val_3000']
SETS = {'boosted': 'brazil_syn', 'no boost': 'brazil_syn_noboost'}


def variants(work):
    """Each addendum arm's set variant."""
    building = precision.variants(work)[True]
    consistency = building['options']['consistency']
    return {
        'alpha_1_bfilter_noboost_val_3000': dict(
            suffix='noboost_' + building['suffix'],
            options=dict(building['options'],
                         shares=dict(rarity_exponent=0.0))),
        'alpha_1_bfilter_m1_val_3000': dict(
            suffix=building['suffix'] + '_m1', options=dict(
                consistency=dict(consistency, loss_multiple=1.0)))}


def building_share(work, name):
    """Mean target building share of the set ``name``."""
    return float(np.mean([r['target_shares']['building'] for r in
                          read_jsonl(osp.join(work, 'data', name,
                                              'manifest.jsonl'))]))


def label_content(work, name):
    """Of the filtered set ``name``, from its manifest alone: the share of
    its pixels its masks drew as building, the share of those the filter
    ignored, and the share of its pixels left labelled building (a
    record's ``measured_shares`` are of the pixels the filter kept)."""
    drawn = ignored = pixels = 0
    with open(osp.join(work, 'data', name, 'synth_info.json'),
              encoding='utf-8') as f:
        size = json.load(f)['identity']['size']
    for record in read_jsonl(osp.join(work, 'data', name,
                                      'manifest.jsonl')):
        off = record['disagreeing_pixels']
        kept = record['measured_shares']['building'] * (
            size * size - sum(off.values()))
        drawn += kept + off['building']
        ignored += off['building']
        pixels += size * size
    return dict(drawn=drawn / pixels, ignored=ignored / drawn,
                kept=(drawn - ignored) / pixels)


def report(runs, seeds, work, arms):
    """The markdown of ``addendum.md`` and the verdict."""
    lines = ['# Addendum: no frequency boost, and a stricter limit on '
             'building pixels (rule.md)', '', f'Seeds {seeds}, 3000 '
             'iterations, mean ± std.', '', '| arm | val mIoU | test mIoU | '
             'test building IoU | test building precision / recall |',
             '| --- ' * 5 + '|']
    for name in runs:
        lines.append(
            f'| {precision.NAMES[name]} | '
            f'{precision.cell(runs, name, "val")} | '
            f'{precision.cell(runs, name, "test")} | '
            f'{precision.cell(runs, name, "test", "IoU.building")} | '
            f'{precision.mean(runs, name, "test", "Precision.building"):.1f}'
            f' / {precision.mean(runs, name, "test", "Recall.building"):.1f}'
            ' |')
    shares = {}
    suffix = precision.SUFFIX + '_building'
    for label, plain in SETS.items():
        if osp.isdir(osp.join(work, 'data', f'{plain}_{suffix}')):
            shares[label] = building_share(work, f'{plain}_{suffix}')
    sets = {'boosted, limit 2x': f'brazil_syn_{suffix}',
            'no boost, limit 2x': f'brazil_syn_noboost_{suffix}',
            'boosted, limit 1x': f'brazil_syn_{suffix}_m1'}
    content = {label: label_content(work, name)
               for label, name in sets.items()
               if osp.isdir(osp.join(work, 'data', name))}
    lines += ['', 'Mean target building share of each set: ' + ', '.join(
        f'{label} {100 * v:.1f}%' for label, v in shares.items()) + '.',
        '', '| set | drawn as building | of which the filter ignores | '
        'left labelled building |', '| --- ' * 4 + '|']
    lines += [f'| {label} | {100 * v["drawn"]:.1f}% | '
              f'{100 * v["ignored"]:.1f}% | {100 * v["kept"]:.1f}% |'
              for label, v in content.items()]
    lines.append('')
    verdicts = {}
    for arm in arms:
        verdicts[arm], said = precision.gate(runs, seeds, arm)
        lines += said
    precisions = {n: precision.mean(runs, n, 'test', 'Precision.building')
                  for n in runs}
    word = {True: 'held', False: '**missed**'}
    held = {}
    lines += ['', 'Predictions (rule.md, addendum):', '']
    if 'no boost' in shares:
        held[4] = shares['no boost'] < shares['boosted']
        lines.append(
            f'4. the set without the boost asks for less building '
            f'({100 * shares["no boost"]:.1f}% against '
            f'{100 * shares["boosted"]:.1f}%): {word[held[4]]}.')
    base = precisions['alpha_1_bfilter_val_3000']
    for arm in arms:
        key = f'5 {arm}'
        held[key] = precisions[arm] > base
        lines.append(f'5. {ARMS[arm]}: test building precision above the '
                     f'building-only arm\'s ({precisions[arm]:.1f} against '
                     f'{base:.1f}): {word[held[key]]}.')
    if list(arms) == list(ARMS):
        held[6] = not any(v['gate_passed'] for v in verdicts.values())
        lines.append(f'6. both gates fail: {word[held[6]]}.')
    return '\n'.join(lines) + '\n', dict(arms=verdicts, shares=shares,
                                         labels=content, predictions=held)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', required=True,
                        help="the interleaved deal's appearance work dir")
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--read', action='store_true',
                        help='only read the finished runs')
    parser.add_argument('--out-dir', default=precision.HERE)
    args = parser.parse_args()
    precision.NAMES.update(ARMS)
    speed_up_configs()
    if not args.read:
        made = variants(args.work)
        for name in ARMS:
            for seed in args.seeds:
                precision.run(args.work, name, seed, 1.0, made[name],
                              iters=precision.ITERS)
    out = osp.join(args.work, 'segmentors')
    arms = [a for a in ARMS if set(args.seeds) <= set(
        precision.finished_seeds(out, [a]))]
    if not arms or not set(args.seeds) <= set(
            precision.finished_seeds(out, BESIDE)):
        raise SystemExit(f'no addendum arm has finished seeds {args.seeds} '
                         f'under {out} beside {BESIDE}: train them (leave '
                         'out --read)')
    runs = precision.summarise_runs(out, BESIDE + arms, args.seeds,
                                    precision.KEYS)
    text, verdict = report(runs, args.seeds, args.work, arms)
    with atomic_open(osp.join(args.out_dir, 'addendum.md')) as f:
        f.write(text)
    precision.write_verdict(
        osp.join(args.out_dir, 'addendum.json'),
        dict(iters=precision.ITERS, seeds=args.seeds, runs=runs, **verdict))


if __name__ == '__main__':
    main()
