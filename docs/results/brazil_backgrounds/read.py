"""``question.md``: where the false buildings fall, and what segmentors
trained on real tiles read on painted backgrounds, on the interleaved
Brazil budget. No training: every model and set is one that
``../brazil_set_draws/draws.py`` left in the work dir. Writes ``read.md``
and ``read.json`` here, or in ``--out-dir``::

    python docs/results/brazil_backgrounds/read.py --work work_dirs/bint
"""
import argparse
import json
import os.path as osp
import sys

import numpy as np
from mmengine.utils import ProgressBar

from PIL import Image

from dldm_mmseg.evaluation.consistency import (ConsistencyChecker,
                                               load_pairs, pixel_loss,
                                               real_pair_paths)
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'brazil_set_draws'))
from draws import arms  # noqa: E402

BACKGROUND, BUILDING, IGNORE = 0, 1, 255
SEEDS = (0, 1, 2)
DRAW_PREFIXES = ('', 'draw10000_', 'draw20000_')
SETS = {'boosted': 'class_filter_val_building',
        'building-free 40%': 'absent40_class_filter_val_building'}
REAL_ARM = 'real_3000'
OVERSAMPLE = 'oversample40_3000'
BIG = '_b16'
BRIGHT = 70  # a building-free tile brighter than this (mean RGB) is bright
# per tile: background pixels, of them called building, their summed
# cross-entropy, building pixels, of them called building, ignored pixels
COLUMNS = ('background', 'background_as_building', 'background_loss',
           'building', 'building_found', 'ignored')


def tile_counts(checker, pairs):
    """``COLUMNS`` of each pair read by ``checker``'s model."""
    rows = []
    bar = ProgressBar(len(pairs))
    for probs, label in checker.labelled_probabilities(pairs):
        called = probs.argmax(0) == BUILDING
        loss, _ = pixel_loss(probs, label)
        back, build = label == BACKGROUND, label == BUILDING
        rows.append([back.sum(), (back & called).sum(), loss[back].sum(),
                     build.sum(), (build & called).sum(),
                     (label == IGNORE).sum()])
        bar.update()
    print()
    return np.array(rows, dtype=float)


def groups(rows):
    """``rows`` split into building-free tiles (no building pixel and none
    ignored: the building-only filter ignores building pixels only) and
    the others."""
    free = (rows[:, 3] == 0) & (rows[:, 5] == 0)
    return {'building-free': rows[free], 'with building': rows[~free]}


def rates(rows):
    """Tiles, the share of background pixels called building (%), their
    mean cross-entropy, and the share of building pixels found (%)."""
    total = rows.sum(0)
    return dict(
        tiles=len(rows), false_pixels=float(total[1]),
        false_building=100 * total[1] / max(total[0], 1),
        background_loss=total[2] / max(total[0], 1),
        recall=100 * total[4] / total[3] if total[3] else None)


def reader(work, seed, arm):
    """A checker over ``arm``'s segmentor of ``seed`` (its last
    checkpoint)."""
    folder = osp.join(work, 'segmentors', f'seed{seed}', arm)
    with open(osp.join(folder, 'last_checkpoint'), encoding='utf-8') as f:
        checkpoint = f.read().strip()
    return ConsistencyChecker(
        osp.join(folder, 'deeplabv3plus_brazil_syn40.py'), checkpoint,
        device='cpu')


def painted(work):
    """Part 1: the judge and real only read the real tiles and the
    synthetic sets. ``{reader: {tiles: {group: rates}}}``."""
    real_root = osp.join(work, 'data', 'brazil_buildings')
    tiles = {f'real {split}': real_pair_paths(real_root, split)
             for split in ('train', 'val', 'test')}
    for kind, suffix in SETS.items():
        for d, prefix in enumerate(DRAW_PREFIXES):
            tiles[f'{kind} set, draw {d}'] = real_pair_paths(osp.join(
                work, 'data', f'brazil_syn_{prefix}{suffix}'), 'train')
    readers = {'judge': (0, 'real')}
    readers.update({f'real only, seed {s}': (s, REAL_ARM) for s in SEEDS})
    result = {}
    for name, (seed, arm) in readers.items():
        checker = reader(work, seed, arm)
        result[name] = {}
        for group, pairs in tiles.items():
            print(f'{name} reads {group} ({len(pairs)} tiles)')
            result[name][group] = {
                g: rates(r) for g, r in groups(
                    tile_counts(checker, pairs)).items()}
    return result


def arm_runs(work):
    """``{arm: [(seed, run folder name)]}`` of part 2: real only and
    oversampling, each synthetic kind's three draws, and the runs of
    ``rule.md`` (batch 16) where all of them have finished."""
    runs = {'real only': [(s, REAL_ARM) for s in SEEDS],
            'oversampling 40%': [(s, OVERSAMPLE) for s in SEEDS]}
    for kind in SETS:
        runs[kind] = [(s, arm) for arm in arms(kind).values() for s in SEEDS]
    big = {'real only, batch 16': [(s, REAL_ARM + BIG) for s in SEEDS],
           'boosted on top, batch 16': [
               (s, arm + BIG) for arm in arms('boosted').values()
               for s in SEEDS]}
    if all(osp.exists(osp.join(work, 'segmentors', f'seed{s}', arm,
                               'metrics.json'))
           for members in big.values() for s, arm in members):
        runs.update(big)
    return runs


def held_out(work):
    """Part 2: every arm's segmentors read val and test.
    ``{arm: {run: {split: {group: rates}}}}``."""
    real_root = osp.join(work, 'data', 'brazil_buildings')
    tiles = {split: real_pair_paths(real_root, split)
             for split in ('val', 'test')}
    runs = arm_runs(work)
    result = {}
    for kind, members in runs.items():
        result[kind] = {}
        for seed, arm in members:
            checker = reader(work, seed, arm)
            print(f'{arm} seed {seed} reads val and test')
            result[kind][f'{arm}/seed{seed}'] = {
                split: {g: rates(r) for g, r in groups(
                    tile_counts(checker, pairs)).items()}
                for split, pairs in tiles.items()}
    return result


def free_colours(pairs):
    """Each building-free pair's mean RGB (no building pixel and none
    ignored), as read from its files."""
    colours = []
    for image, label in pairs:
        label = np.asarray(Image.open(label))
        if not ((label == BUILDING + 1) | (label == 0)).any():
            colours.append(np.asarray(Image.open(image).convert('RGB'),
                                      dtype=float).reshape(-1, 3).mean(0))
    return np.array(colours)


def looks(work):
    """Part 0: the building-free tiles' colours: the budget's train tiles,
    the train tiles outside the budget (their labels read here only),
    val, test, and each synthetic kind's three draws pooled. ``{tiles:
    {count, green, brightness, bright}}``: the share of tiles whose mean
    green exceeds their mean red and blue, the mean brightness (0-255),
    the share of tiles brighter than ``BRIGHT``."""
    root = osp.join(work, 'data', 'brazil_buildings')
    with open(osp.join(root, 'summary.json'), encoding='utf-8') as f:
        budget = json.load(f)['label_budget']
    kept = set(budget['kept'])
    train = real_pair_paths(budget['source'], 'train')
    inside = [osp.splitext(osp.basename(image))[0] in kept
              for image, _ in train]
    groups = {
        'real train, the budget (90)': [
            p for p, i in zip(train, inside) if i],
        'real train, outside the budget (630)': [
            p for p, i in zip(train, inside) if not i],
        'real val': real_pair_paths(root, 'val'),
        'real test': real_pair_paths(root, 'test')}
    for kind, suffix in SETS.items():
        groups[f'{kind} set, three draws'] = [
            pair for prefix in DRAW_PREFIXES for pair in real_pair_paths(
                osp.join(work, 'data', f'brazil_syn_{prefix}{suffix}'),
                'train')]
    result = {}
    for group, pairs in groups.items():
        colours = free_colours(pairs)
        brightness = colours.mean(1)
        result[group] = dict(
            count=len(colours),
            green=100 * float(((colours[:, 1] > colours[:, 0]) &
                               (colours[:, 1] > colours[:, 2])).mean()),
            brightness=float(brightness.mean()),
            bright=100 * float((brightness > BRIGHT).mean()))
    return result


def calls(checker, pairs):
    """The images of ``pairs``, their labels and ``checker``'s building
    calls."""
    images, labels, called = [], [], []
    for start in range(0, len(pairs), 8):
        batch, maps = load_pairs(pairs[start:start + 8], True)
        images += batch
        labels += maps
        called += list(checker.predict(batch)[0] == BUILDING)
    return images, labels, called


def shown(image, called):
    """``image`` with the pixels called building tinted red."""
    out = image.copy()
    out[called] = (0.5 * out[called] + [127, 0, 0]).astype(np.uint8)
    return out


def picture(work, path, count=8):
    """Left: painted building-free tiles (the building-free set, draw 0)
    beside real only's (seed 0) building calls. Right: the building-free
    val tiles on which the boosted arm (seed 0, draw 0) calls the most
    building, beside real only's calls and the boosted arm's."""
    real = reader(work, 0, REAL_ARM)
    boosted = reader(work, 0, arms('boosted')[0])
    syn = real_pair_paths(osp.join(
        work, 'data', 'brazil_syn_' + SETS['building-free 40%']), 'train')
    images, labels, real_calls = calls(real, syn[:8 * count])
    free = [i for i, label in enumerate(labels)
            if not ((label == BUILDING) | (label == IGNORE)).any()][:count]
    left = [np.concatenate([images[i], shown(images[i], real_calls[i])], 1)
            for i in free]
    val = real_pair_paths(osp.join(work, 'data', 'brazil_buildings'), 'val')
    images, labels, boosted_calls = calls(boosted, val)
    free = [i for i, label in enumerate(labels) if not (label == 1).any()]
    worst = sorted(free, key=lambda i: -boosted_calls[i].sum())[:count]
    _, _, real_calls = calls(real, [val[i] for i in worst])
    right = [np.concatenate([images[i], shown(images[i], r),
                             shown(images[i], boosted_calls[i])], 1)
             for i, r in zip(worst, real_calls)]
    gap = np.full((len(left) * left[0].shape[0], 16, 3), 255, np.uint8)
    grid = np.concatenate([np.concatenate(left, 0), gap,
                           np.concatenate(right, 0)], 1)
    Image.fromarray(grid).resize(
        (grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(
            path, quality=90)


def mean_std(values):
    values = np.array([v for v in values if v is not None], dtype=float)
    return f'{values.mean():.2f} ± {values.std(ddof=1):.2f}' \
        if len(values) > 1 else f'{values.mean():.2f}'


def report(part0, part1, part2):
    """``read.md``'s lines."""
    lines = ['# What segmentors read on painted backgrounds, and where the '
             'false buildings fall', '',
             'Written by `read.py` (see `question.md`).', '',
             '## 0. What the building-free tiles look like (no model)', '',
             f'Green: the share of tiles whose mean green exceeds their '
             f'mean red and blue. Bright: mean RGB above {BRIGHT}.', '',
             '| tiles | building-free | green | mean brightness | bright |',
             '| --- ' * 5 + '|']
    for group, row in part0.items():
        lines.append(f'| {group} | {row["count"]} | {row["green"]:.0f}% | '
                     f'{row["brightness"]:.0f} | {row["bright"]:.0f}% |')
    lines += ['',
              '## 1. Background pixels called building (%) and their mean '
              'cross-entropy, read by the judge and by real only (3000 '
              'iterations, mean ± std of seeds 0-2)', '',
              '| tiles | group | count | judge: false building | judge: '
              'background loss | real only: false building | real only: '
              'background loss |', '| --- ' * 7 + '|']
    only = [k for k in part1 if k != 'judge']
    for tiles, by_group in part1['judge'].items():
        for group, judged in by_group.items():
            seeds = [part1[k][tiles][group] for k in only]
            lines.append(
                f'| {tiles} | {group} | {judged["tiles"]} | '
                f'{judged["false_building"]:.2f} | '
                f'{judged["background_loss"]:.3f} | '
                f'{mean_std(s["false_building"] for s in seeds)} | '
                f'{mean_std(s["background_loss"] for s in seeds)} |')
    lines += ['', '## 2. Val and test read by each arm (3000 iterations; '
              'mean ± std over its runs: seeds 0-2, and for a synthetic '
              'kind its three set draws)', '',
              '| split | arm | runs | false building, building-free '
              'tiles (%) | false building, background of tiles with '
              'building (%) | building found (%) |', '| --- ' * 6 + '|']
    for split in ('val', 'test'):
        for kind, runs in part2.items():
            read = [r[split] for r in runs.values()]
            cells = [mean_std(r[group][key] for r in read) for group, key in
                     (('building-free', 'false_building'),
                      ('with building', 'false_building'),
                      ('with building', 'recall'))]
            lines.append(f'| {split} | {kind} | {len(read)} | ' +
                         ' | '.join(cells) + ' |')
    lines += ['', '## 3. Where the extra false-building pixels fall (mean '
              'per run, against real only)', '',
              '| split | arm | extra on building-free tiles | extra on '
              'the background of tiles with building | share on '
              'building-free tiles |', '| --- ' * 5 + '|']
    for split in ('val', 'test'):
        for kind in part2:
            if kind == 'real only':
                continue
            extra = extra_false(part2, kind, split)
            share = extra['building-free'] / sum(extra.values()) \
                if sum(extra.values()) > 0 else float('nan')
            lines.append(f'| {split} | {kind} | '
                         f'{extra["building-free"]:+.0f} | '
                         f'{extra["with building"]:+.0f} | '
                         f'{100 * share:.0f}% |')
    return lines


def extra_false(part2, arm, split):
    """The mean number of background pixels ``arm``'s runs call building
    on ``split``, less real only's, per group of tiles."""
    def per_run(name, group):
        return np.mean([r[split][group]['false_pixels']
                        for r in part2[name].values()])
    return {group: per_run(arm, group) - per_run('real only', group)
            for group in ('building-free', 'with building')}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', required=True,
                        help="the interleaved deal's work dir")
    parser.add_argument('--out-dir', default=HERE)
    parser.add_argument('--picture-only', action='store_true',
                        help='only draw backgrounds.jpg')
    args = parser.parse_args()
    picture(args.work, osp.join(args.out_dir, 'backgrounds.jpg'))
    if args.picture_only:
        return
    part0 = looks(args.work)
    part1, part2 = painted(args.work), held_out(args.work)
    lines = report(part0, part1, part2)
    with atomic_open(osp.join(args.out_dir, 'read.md')) as f:
        f.write('\n'.join(lines) + '\n')
    with atomic_open(osp.join(args.out_dir, 'read.json')) as f:
        json.dump(dict(looks=part0, painted=part1, held_out=part2), f,
                  indent=1)
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
