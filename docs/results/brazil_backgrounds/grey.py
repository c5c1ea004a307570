"""Can stage 2 paint a grey building-free scene? The budget's 24
building-free train tiles are captioned with a dark green background in
18 cases and never grey; grey backgrounds appear only beside buildings.
Stage 2 (the interleaved budget's) paints 96 masks drawn from those 24
(``tools/synthesize.py --masks real``, the same draws and seeds twice),
once with their own captions and once with the background's colour word
replaced by ``Grey``; the paintings' colours and what the set's judge and real
only (3000 iterations, seeds 0-2) call building on them are read as in
``read.py``. No training. Writes ``grey.md`` / ``grey.json`` and
``grey.jpg`` (the first eight paintings of each) here, or in
``--out-dir``::

    python docs/results/brazil_backgrounds/grey.py --work work_dirs/bint
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np

from dldm_mmseg.evaluation.consistency import real_pair_paths
from dldm_mmseg.utils.io import atomic_open, read_jsonl

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
import read  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = osp.join(HERE, '..', '..', '..')
CONFIG = 'configs/demo/brazil/synth_small_brazil.py'
PER_TILE = 4
COLOUR = re.compile(r'\. ([^.]*) background\.$')
VARIANTS = {'own captions': None, 'grey asked': 'Grey'}


def captions(work, colour):
    """The budget's building-free tiles' caption records, the background's
    colour word replaced by ``colour`` unless it is None."""
    records = read_jsonl(osp.join(work, 'data', 'brazil_buildings',
                                  'captions.jsonl'))
    free = [r for r in records if r['shares'].get('building', 0) == 0]
    for r in free:
        if not COLOUR.search(r['caption']):
            raise ValueError(f'caption of {r["id"]} names no background '
                             f'colour: {r["caption"]!r}')
        if colour:
            r['caption'] = COLOUR.sub(f'. {colour} background.',
                                      r['caption'])
    return free


def paint(work, name, colour):
    """Stage 2 paints the building-free masks with ``colour``'s captions;
    returns the set's folder."""
    folder = osp.abspath(osp.join(work, 'data', 'grey_probe', name))
    os.makedirs(folder, exist_ok=True)
    records = captions(work, colour)
    path = osp.join(folder, 'captions.jsonl')
    with atomic_open(path) as f:
        f.writelines(json.dumps(r) + '\n' for r in records)
    out = osp.join(folder, 'set')
    env = dict(os.environ, DLDM_DEMO_DIR=osp.abspath(work))
    subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'synthesize.py'), CONFIG,
         '--num', str(PER_TILE * len(records)), '--masks', 'real',
         '--out', out, '--cfg-options',
         f'synthesis.real_captions.captions={path}'],
        check=True, cwd=ROOT, env=env)
    return out


def picture(sets, path, count=8):
    """A row of the first ``count`` paintings of each set."""
    rows = [np.concatenate([np.asarray(Image.open(image).convert('RGB'))
                            for image, _ in real_pair_paths(folder,
                                                            'train')[:count]],
                           1) for folder in sets.values()]
    grid = np.concatenate(rows, 0)
    Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2),
                                 Image.NEAREST).save(path, quality=90)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', required=True,
                        help="the interleaved deal's work dir")
    parser.add_argument('--out-dir', default=HERE)
    args = parser.parse_args()
    sets = {name: paint(args.work, name.replace(' ', '_'), colour)
            for name, colour in VARIANTS.items()}
    picture(sets, osp.join(args.out_dir, 'grey.jpg'))
    pairs = {name: real_pair_paths(folder, 'train')
             for name, folder in sets.items()}
    pairs['real train, the budget\'s building-free tiles'] = [
        p for p in real_pair_paths(osp.join(
            args.work, 'data', 'brazil_buildings'), 'train')
        if osp.splitext(osp.basename(p[0]))[0] in {
            r['id'] for r in captions(args.work, None)}]
    readers = read.readers(args.work)
    result = {}
    for name, group in pairs.items():
        colours = read.free_colours(group)
        result[name] = dict(read.colour_stats(colours), read={
            reader: read.rates(read.tile_counts(checker, group))
            for reader, checker in readers.items()})
    lines = ['# Stage 2 asked for a grey building-free scene (grey.py)', '',
             f'{PER_TILE} paintings per building-free mask of the budget; '
             'false building: background pixels called building (%).',
             '', '| tiles | count | green | mean brightness | bright | '
             'judge: false building | real only: false building (seeds '
             '0-2) |', '| --- ' * 7 + '|']
    for name, row in result.items():
        only = [v['false_building'] for k, v in row['read'].items()
                if k != 'judge']
        lines.append(
            f'| {name} | {row["count"]} | {row["green"]:.0f}% | '
            f'{row["brightness"]:.0f} | {row["bright"]:.0f}% | '
            f'{row["read"]["judge"]["false_building"]:.2f} | '
            f'{read.mean_std(only)} |')
    with atomic_open(osp.join(args.out_dir, 'grey.md')) as f:
        f.write('\n'.join(lines) + '\n')
    with atomic_open(osp.join(args.out_dir, 'grey.json')) as f:
        json.dump(result, f, indent=1)
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
