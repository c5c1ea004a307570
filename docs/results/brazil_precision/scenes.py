"""What the blocks where the synthetic arms lose hold, against the
budget's train tiles: per group of tiles, the building share, the share
of tiles with any building, and the size of each tile's largest building
(4-connected, in pixels of a 64 px tile). The blocks are the four on
which alpha 1.0 with the filter lost on both val and test
(``../brazil_interleaved/blocks.md``). Also a picture of their val tiles,
each beside its building label in red. Writes ``scenes.md``,
``scenes.json`` and ``losing_blocks.jpg`` here, or in ``--out-dir``::

    python docs/results/brazil_precision/scenes.py --work work_dirs/bint
"""
import argparse
import json
import os
import os.path as osp
import sys

import numpy as np
from PIL import Image
from scipy import ndimage

from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'brazil_budget_use'))
from blocks import block_of, scene_blocks  # noqa: E402

LOSING = ((1, 2), (2, 1), (0, 3), (1, 1))
BUILDING = 2  # the label files' value (reduce_zero_label)


def tiles(root, split, rows, cols):
    """``(name, block, building share, largest building)`` of each tile
    of ``root``'s ``split``."""
    folder = osp.join(root, 'ann_dir', split)
    for name in sorted(os.listdir(folder)):
        label = np.array(Image.open(osp.join(folder, name))) == BUILDING
        parts, count = ndimage.label(label)
        largest = int(np.bincount(parts.ravel())[1:].max()) if count else 0
        yield (name[:-4], block_of(name, rows, cols), float(label.mean()),
               largest)


def describe(group):
    shares = np.array([t[2] for t in group])
    largest = np.array([t[3] for t in group])
    return dict(tiles=len(group), building=float(shares.mean()),
                with_building=float((largest > 0).mean()),
                median_largest=float(np.median(largest)),
                largest_600=float((largest >= 600).mean()))


def picture(root, names, out, per_row=4):
    """The val tiles ``names``, each beside its building label in red."""
    cells = []
    for name in names:
        image = np.array(Image.open(osp.join(
            root, 'img_dir', 'val', name + '.png')).convert('RGB'))
        label = np.array(Image.open(osp.join(
            root, 'ann_dir', 'val', name + '.png'))) == BUILDING
        shown = image.copy()
        shown[label] = (0.5 * shown[label] + [127, 0, 0]).astype(np.uint8)
        cells.append(np.concatenate([image, shown], 1))
    cells += [np.zeros_like(cells[0])] * (-len(cells) % per_row)
    grid = np.concatenate([np.concatenate(cells[i:i + per_row], 1)
                           for i in range(0, len(cells), per_row)], 0)
    Image.fromarray(grid).save(out, quality=90)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', required=True,
                        help="the interleaved deal's appearance work dir")
    parser.add_argument('--out-dir', default=HERE)
    args = parser.parse_args()
    root = osp.join(args.work, 'data', 'brazil_buildings')
    with open(osp.join(root, 'summary.json'), encoding='utf-8') as f:
        budget = json.load(f)['label_budget']
    rows, cols = scene_blocks(root)
    train = list(tiles(budget['source'], 'train', rows, cols))
    kept = set(budget['kept'])
    groups = {'budget train (90)': [t for t in train if t[0] in kept],
              'other train (unlabelled in the budget)':
              [t for t in train if t[0] not in kept]}
    held = {split: list(tiles(root, split, rows, cols))
            for split in ('val', 'test')}
    for split, group in held.items():
        groups[f'{split}, losing blocks'] = [t for t in group
                                             if t[1] in LOSING]
        groups[f'{split}, other blocks'] = [
            t for t in group if t[1] not in LOSING]
    result = {name: describe(group) for name, group in groups.items()}
    lines = ['# The losing blocks\' tiles against the train tiles', '',
             f'Blocks {", ".join(f"{r},{c}" for r, c in LOSING)} (row, '
             'column). Largest building: 4-connected, pixels of a 64 px '
             'tile (4096).', '',
             '| tiles | count | building share | with any building | '
             'median largest building | largest >= 600 px |',
             '| --- ' * 6 + '|']
    for name, row in result.items():
        lines.append(
            f'| {name} | {row["tiles"]} | {100 * row["building"]:.1f}% | '
            f'{100 * row["with_building"]:.0f}% | '
            f'{row["median_largest"]:.0f} | '
            f'{100 * row["largest_600"]:.0f}% |')
    lines += ['', '![the losing blocks\' val tiles](losing_blocks.jpg)', '',
              '*The losing blocks\' val tiles (left) beside their building '
              'labels (red).*']
    with atomic_open(osp.join(args.out_dir, 'scenes.md')) as f:
        f.write('\n'.join(lines) + '\n')
    with atomic_open(osp.join(args.out_dir, 'scenes.json')) as f:
        json.dump(dict(blocks=LOSING, groups=result), f, indent=1)
    picture(root, [t[0] for t in held['val'] if t[1] in LOSING],
            osp.join(args.out_dir, 'losing_blocks.jpg'))
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
