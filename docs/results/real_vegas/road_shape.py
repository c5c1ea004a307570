"""Shape of the road regions in two folders of label maps: the real train
tiles and the synthetic set's masks.

Per connected road region of at least 20 px: its width (twice the largest
distance from a road pixel to the nearest non-road pixel, the tile's
border counted as non-road) and its elongation (area / width^2; a square
is 1, a 64 px road 14 px wide about 4.6)::

    python docs/results/real_vegas/road_shape.py \
        work_dirs/vegas_demo/data/spacenet_vegas_roads/ann_dir/train \
        work_dirs/vegas_demo/data/vegas_syn/ann_dir/train
"""
import argparse
import glob
import json
import os.path as osp

import numpy as np
from PIL import Image
from scipy import ndimage


def road_shape(folder: str, label: int = 2, min_area: int = 20) -> dict:
    """Mean road share, the number of maps with road, the number of road
    regions, and their median width and elongation over the label maps
    of ``folder``."""
    widths, elongations, shares = [], [], []
    for path in sorted(glob.glob(osp.join(folder, '*.png'))):
        road = np.array(Image.open(path)) == label
        shares.append(road.mean())
        regions, num = ndimage.label(road)
        distance = ndimage.distance_transform_edt(np.pad(road, 1))[1:-1,
                                                                   1:-1]
        for region in range(1, num + 1):
            inside = regions == region
            if inside.sum() < min_area:
                continue
            width = 2 * distance[inside].max()
            widths.append(width)
            elongations.append(inside.sum() / width ** 2)
    if not shares:
        raise FileNotFoundError(f'no .png label maps in {folder}')
    return dict(masks=len(shares), road_share=float(np.mean(shares)),
                masks_with_road=int(np.count_nonzero(shares)),
                regions=len(widths),
                width_median=float(np.median(widths)),
                elongation_median=float(np.median(elongations)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('real')
    parser.add_argument('synthetic')
    args = parser.parse_args()
    print(json.dumps({'real': road_shape(args.real),
                      'synthetic': road_shape(args.synthetic)}, indent=1))


if __name__ == '__main__':
    main()
