"""Where the segmentors' false roads lie on the val tiles of the
stratified Las Vegas split: for each run of the demo work dir (seed 0 in
``sweep``, seeds 1-2 in ``sweep_seed<N>``), the road pixels it predicts
where the label says background, split by their distance to the nearest
true road pixel (a widened road edge, a few pixels out, or a road
invented far from any). Writes ``false_roads.json`` here and prints the
table of the README::

    python docs/results/vegas_stratified/false_roads.py work_dirs/vstrat_demo
"""
import argparse
import glob
import json
import os.path as osp

import numpy as np
from mmseg.apis import inference_model, init_model
from PIL import Image
from scipy.ndimage import distance_transform_edt

import dldm_mmseg  # noqa: F401  (registers the plugin's modules)
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
RUNS = ('alpha_0', 'oversample40', 'alpha_0.4', 'alpha_0.4_class_filter')
# distance bands to the nearest true road pixel, in pixels
BANDS = (('edge (<= 2 px)', 0, 2), ('near (3-8 px)', 2, 8),
         ('far (> 8 px, or no road in the tile)', 8, np.inf))
ROAD, IGNORE = 2, 0  # label values of the prepared tiles


def false_roads(config, checkpoint, tiles, labels):
    """Counts of false-road pixels per distance band, and of true road,
    predicted road and background pixels, over the tiles."""
    model = init_model(config, checkpoint, device='cpu')
    counts = dict.fromkeys([b[0] for b in BANDS], 0)
    counts.update(true_road=0, predicted_road=0, background=0)
    for tile, label_file in zip(tiles, labels):
        label = np.array(Image.open(label_file))
        road = label == ROAD
        background = (label != IGNORE) & ~road
        pred = inference_model(model, tile).pred_sem_seg.data[0].numpy()
        predicted = (pred == ROAD - 1) & (label != IGNORE)
        distance = distance_transform_edt(~road) if road.any() else \
            np.full(label.shape, np.inf)
        wrong = predicted & background
        for name, low, high in BANDS:
            counts[name] += int((wrong & (distance > low)
                                 & (distance <= high)).sum())
        counts['true_road'] += int(road.sum())
        counts['predicted_road'] += int(predicted.sum())
        counts['background'] += int(background.sum())
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument('--split', default='val')
    args = parser.parse_args()
    data = osp.join(args.work_dir, 'data', 'spacenet_vegas_roads')
    tiles = sorted(glob.glob(osp.join(data, 'img_dir', args.split,
                                      '*.png')))
    labels = [osp.join(data, 'ann_dir', args.split, osp.basename(t))
              for t in tiles]
    results = {}
    for run in RUNS:
        for seed, sweep in ((0, 'sweep'), (1, 'sweep_seed1'),
                            (2, 'sweep_seed2')):
            folder = osp.join(args.work_dir, sweep, run)
            config = glob.glob(osp.join(folder, '*.py'))
            checkpoint = osp.join(folder, 'iter_1500.pth')
            if len(config) != 1 or not osp.isfile(checkpoint):
                raise SystemExit(f'{folder}: no single config and '
                                 'iter_1500.pth; run run.sh and filter.sh')
            results.setdefault(run, {})[seed] = false_roads(
                config[0], checkpoint, tiles, labels)
            print(run, seed, results[run][seed], flush=True)
    with atomic_open(osp.join(HERE, 'false_roads.json')) as f:
        json.dump(dict(split=args.split, tiles=len(tiles), runs=results), f,
                  indent=1)
    print(f'\n| run ({args.split}, seeds 0-2 summed) | predicted / true '
          'road | ' + ' | '.join(
              f'false road {b[0]}, % of true road' for b in BANDS) + ' |')
    print('| --- ' * (2 + len(BANDS)) + '|')
    for run, seeds in results.items():
        total = {k: sum(s[k] for s in seeds.values())
                 for k in next(iter(seeds.values()))}
        print(f'| {run} | {total["predicted_road"] / total["true_road"]:.2f}'
              ' | ' + ' | '.join(
                  f'{100 * total[b[0]] / total["true_road"]:.1f}'
                  for b in BANDS) + ' |')


if __name__ == '__main__':
    main()
