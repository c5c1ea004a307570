"""``question.md``: where the false buildings fall, and what segmentors
trained on real tiles read on painted backgrounds, on the interleaved
Brazil budget. No training: it reads the sets and segmentors already in
the work dir (the judge of ``../brazil_interleaved/run.py``, the
baselines, the synthetic arms of ``../brazil_set_draws/draws.py`` and,
once all have finished, the batch-16 runs of ``on_top.py``). Writes
``read.md``, ``read.json`` and ``backgrounds.jpg`` here, or in
``--out-dir``::

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
from dldm_mmseg.experiments.alpha_sweep import finished_run
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'brazil_set_draws'))
from draws import arms  # noqa: E402
from aggregate import finished_seeds  # noqa: E402

BACKGROUND, BUILDING, IGNORE = 0, 1, 255
SEEDS = (0, 1, 2)
DRAW_PREFIXES = ('', 'draw10000_', 'draw20000_')
SETS = {'boosted': 'class_filter_val_building',
        'building-free 40%': 'absent40_class_filter_val_building'}
REAL_ARM = 'real_3000'
OVERSAMPLE = 'oversample40_3000'
BIG = '_b16'
BASELINE = {'batch 8': 'real only', 'batch 16': 'real only, batch 16'}
ON_TOP = 'boosted on top, batch 16'
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
    ignored) and the others: in these sets the filter ignores building
    pixels only, so a tile with ignored pixels had buildings in its
    mask."""
    free = (rows[:, 3] == 0) & (rows[:, 5] == 0)
    return {'building-free': rows[free], 'with building': rows[~free]}


def building_free(label):
    """Whether a train-id label map holds no building pixel and none
    ignored (see :func:`groups`)."""
    return not ((label == BUILDING) | (label == IGNORE)).any()


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
    """A checker over ``arm``'s segmentor of ``seed`` (the config its run
    dumped, its last checkpoint)."""
    return ConsistencyChecker(**finished_run(osp.join(
        work, 'segmentors', f'seed{seed}', arm)), device='cpu')


def readers(work):
    """``{name: checker}`` of the real-only readers: the set's judge and
    real only at 3000 iterations, each seed."""
    runs = {'judge': (0, 'real'),
            **{f'real only, seed {s}': (s, REAL_ARM) for s in SEEDS}}
    return {name: reader(work, seed, arm)
            for name, (seed, arm) in runs.items()}


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
    result = {}
    for name, checker in readers(work).items():
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
    runs = {BASELINE['batch 8']: [(s, REAL_ARM) for s in SEEDS],
            'oversampling 40%': [(s, OVERSAMPLE) for s in SEEDS]}
    for kind in SETS:
        runs[kind] = [(s, arm) for arm in arms(kind).values() for s in SEEDS]
    big = {BASELINE['batch 16']: [(s, REAL_ARM + BIG) for s in SEEDS],
           ON_TOP: [
               (s, arm + BIG) for arm in arms('boosted').values()
               for s in SEEDS]}
    if set(SEEDS) <= set(finished_seeds(
            osp.join(work, 'segmentors'),
            [arm for members in big.values() for _, arm in members])):
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
    tiles = {
        'real train, the budget (90)': [
            p for p, i in zip(train, inside) if i],
        'real train, outside the budget (630)': [
            p for p, i in zip(train, inside) if not i],
        'real val': real_pair_paths(root, 'val'),
        'real test': real_pair_paths(root, 'test')}
    for kind, suffix in SETS.items():
        tiles[f'{kind} set, three draws'] = [
            pair for prefix in DRAW_PREFIXES for pair in real_pair_paths(
                osp.join(work, 'data', f'brazil_syn_{prefix}{suffix}'),
                'train')]
    return {group: colour_stats(free_colours(pairs))
            for group, pairs in tiles.items()}


def colour_stats(colours):
    """``{count, green, brightness, bright}`` of tiles' mean RGB
    ``colours`` (see :func:`looks`)."""
    brightness = colours.mean(1)
    return dict(count=len(colours),
                green=100 * float(((colours[:, 1] > colours[:, 0]) &
                                   (colours[:, 1] > colours[:, 2])).mean()),
                brightness=float(brightness.mean()),
                bright=100 * float((brightness > BRIGHT).mean()))


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
            if building_free(label)][:count]
    left = [np.concatenate([images[i], shown(images[i], real_calls[i])], 1)
            for i in free]
    val = real_pair_paths(osp.join(work, 'data', 'brazil_buildings'), 'val')
    images, labels, boosted_calls = calls(boosted, val)
    free = [i for i, label in enumerate(labels) if building_free(label)]
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


def mean_std(values, digits=2):
    """``mean ± std`` (ddof 1) of the values that are not None."""
    values = np.array([v for v in values if v is not None], dtype=float)
    if len(values) < 2:
        return f'{values.mean():.{digits}f}'
    return f'{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}'


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
              'cross-entropy, read by the judge (real only, seed 0, 1500 '
              'iterations) and by real only (3000 iterations, mean ± std '
              'of seeds 0-2)', '',
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
                f'{mean_std((s["background_loss"] for s in seeds), 3)} |')
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
              'per run, against real only at the same batch)', '',
              '| split | arm | extra on building-free tiles | extra on '
              'the background of tiles with building | share on '
              'building-free tiles |', '| --- ' * 5 + '|']
    shares = {}
    for split in ('val', 'test'):
        for kind in part2:
            if kind in BASELINE.values():
                continue
            extra = extra_false(part2, kind, split)
            shares[kind, split] = share_free(extra)
            lines.append(f'| {split} | {kind} | '
                         f'{extra["building-free"]:+.0f} | '
                         f'{extra["with building"]:+.0f} | '
                         f'{shares[kind, split]} |')
    return lines + [''] + predictions(part1, part2)


def share_free(extra):
    """The share (%) of the extra false-building pixels on building-free
    tiles, as text; when the two groups' extras differ in sign it is no
    share, and the text says which gained."""
    free, rest = extra['building-free'], extra['with building']
    if free >= 0 and rest >= 0 and free + rest > 0:
        return f'{100 * free / (free + rest):.0f}%'
    return 'only building-free tiles gain' if free > 0 else \
        'only tiles with building gain' if rest > 0 else 'none gain'


def extra_false(part2, arm, split):
    """The mean number of background pixels ``arm``'s runs call building
    on ``split``, less real only's at the same batch, per group of
    tiles."""
    def per_run(name, group):
        return np.mean([r[split][group]['false_pixels']
                        for r in part2[name].values()])
    base = BASELINE['batch 16' if arm.endswith('batch 16') else 'batch 8']
    return {group: per_run(arm, group) - per_run(base, group)
            for group in ('building-free', 'with building')}


def free_false(part2, arm, split):
    """``arm``'s mean false-building share (%) on ``split``'s
    building-free tiles over its runs."""
    return float(np.mean([r[split]['building-free']['false_building']
                          for r in part2[arm].values()]))


def predictions(part1, part2):
    """The lines judging ``question.md``'s P1-P3 and ``rule.md``'s
    R2."""
    word = {True: 'held', False: '**missed**'}
    painted = [t for t in part1['judge'] if ' set, draw ' in t]
    worst = max(part1[r][t]['building-free']['false_building']
                for r in part1 for t in painted)
    real_val = min(part1[r]['real val']['building-free']['false_building']
                   for r in part1)
    held = {'P1': worst < real_val}
    lines = ['## Predictions (question.md, rule.md)', '',
             f'- P1. painted building-free backgrounds called building '
             f'less often than real val building-free tiles, by every '
             f'reader (the most on any draw {worst:.2f}% against the '
             f'least on val {real_val:.2f}%): {word[held["P1"]]}.']
    kinds = list(SETS)
    extras = {(k, split): extra_false(part2, k, split) for k in kinds
              for split in ('val', 'test')}
    held['P2'] = all(e['building-free'] > max(e['with building'], 0)
                     for e in extras.values())
    lines.append(f'- P2. most of the synthetic arms\' extra false-building '
                 f'pixels on building-free tiles (val and test, both kinds): '
                 f'{word[held["P2"]]}.')
    pairs = {split: (free_false(part2, kinds[1], split),
                     free_false(part2, kinds[0], split))
             for split in ('val', 'test')}
    held['P3'] = all(a < b for a, b in pairs.values())
    lines.append('- P3. the building-free arm calls fewer false buildings '
                 'on building-free tiles than the boosted arm (' + ', '.join(
                     f'{split} {a:.2f}% against {b:.2f}%'
                     for split, (a, b) in pairs.items()) +
                 f'): {word[held["P3"]]}.')
    if ON_TOP in part2:
        mine, theirs = (free_false(part2, ON_TOP, 'val'),
                        free_false(part2, kinds[0], 'val'))
        held['R2'] = mine < theirs
        lines.append(f'- R2. on top at batch 16, fewer false buildings on '
                     f'val building-free tiles than the boosted arm at '
                     f'batch 8 ({mine:.2f}% against {theirs:.2f}%): '
                     f'{word[held["R2"]]}.')
    return lines


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
