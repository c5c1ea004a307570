"""A small built-in land-cover dataset, generated procedurally.

Not real imagery: top-down scenes drawn from simple shapes so the whole
pipeline can run on a laptop CPU with nothing downloaded. Each scene has
the Potsdam classes, palette and label encoding (0 ignore, 1..6) and a
strong class imbalance like Potsdam's: low vegetation background, a road
grid (impervious surface), rectangular buildings, round tree crowns, and
rare cars (on roads) and clutter patches. Images are class colours with
texture and noise, so a segmentor has to learn colour and shape cues.
"""
import os.path as osp
from typing import Dict

import numpy as np

from dldm_mmseg.utils.io import atomic_write_image, remove_stale_temporaries

# label values (mmseg encoding: 0 = ignore, 1..6 = Potsdam classes)
IMPERVIOUS, BUILDING, LOW_VEG, TREE, CAR, CLUTTER = range(1, 7)

# mean RGB and texture amplitude of each class in the rendered image
_APPEARANCE = {
    IMPERVIOUS: ((128, 128, 124), 10),
    BUILDING: ((170, 90, 80), 14),
    LOW_VEG: ((120, 160, 80), 18),
    TREE: ((40, 95, 45), 22),
    CAR: ((220, 220, 60), 25),
    CLUTTER: ((150, 110, 170), 30),
}


def render_scene(rng: np.random.Generator, size: int = 64):
    """Draw one scene; returns ``(image HxWx3 uint8, label HxW uint8)``."""
    label = np.full((size, size), LOW_VEG, dtype=np.uint8)
    yy, xx = np.mgrid[:size, :size]
    road_w = max(2, size // 16)
    # a road grid: one or two horizontal and vertical roads
    for axis in (0, 1):
        for _ in range(rng.integers(1, 3)):
            pos = rng.integers(road_w, size - road_w)
            road = slice(pos - road_w // 2, pos + (road_w + 1) // 2)
            if axis == 0:
                label[road, :] = IMPERVIOUS
            else:
                label[:, road] = IMPERVIOUS
    roads = label == IMPERVIOUS
    # buildings: rectangles off the road
    for _ in range(rng.integers(2, 7)):
        h, w = rng.integers(size // 8, size // 3, size=2)
        y, x = rng.integers(0, size - h), rng.integers(0, size - w)
        block = label[y:y + h, x:x + w]
        block[~roads[y:y + h, x:x + w]] = BUILDING
    # tree crowns: discs on vegetation
    for _ in range(rng.integers(3, 12)):
        cy, cx = rng.integers(0, size, size=2)
        r = rng.integers(max(2, size // 24), max(3, size // 9))
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        label[disc & (label == LOW_VEG)] = TREE
    # cars: rare small rectangles on roads
    if rng.random() < 0.7:
        road_pixels = np.argwhere(roads)
        for _ in range(rng.integers(1, 5)):
            y, x = road_pixels[rng.integers(len(road_pixels))]
            ch, cw = (max(2, size // 16), max(3, size // 9))[::rng.choice(
                [1, -1])]
            label[y:y + ch, x:x + cw] = CAR
    # clutter: rare irregular patches
    if rng.random() < 0.5:
        cy, cx = rng.integers(0, size, size=2)
        r = rng.integers(2, max(3, size // 7))
        blob = (np.abs(yy - cy) + np.abs(xx - cx)) <= r
        label[blob] = CLUTTER
    image = np.zeros((size, size, 3), dtype=np.float32)
    for value, (mean, texture) in _APPEARANCE.items():
        mask = label == value
        if mask.any():
            noise = rng.normal(0, texture, size=(int(mask.sum()), 3))
            image[mask] = np.asarray(mean, np.float32) + noise
    image += rng.normal(0, 4, size=image.shape)  # sensor noise
    # a few boundary pixels left unlabelled, like Potsdam's eroded labels
    edge = np.zeros_like(label, dtype=bool)
    edge[:, 1:] |= label[:, 1:] != label[:, :-1]
    label = np.where(edge & (rng.random(label.shape) < 0.3), 0, label)
    return np.clip(image, 0, 255).astype(np.uint8), label.astype(np.uint8)


def make_toy_landcover(out_dir: str, num_train: int = 64, num_val: int = 16,
                       size: int = 64, seed: int = 0,
                       num_test: int = 0) -> Dict[str, int]:
    """Write the built-in dataset in mmseg format under ``out_dir``.

    Scenes are seeded per index (``seed``, split, index), so the same call
    gives the same files, and an interrupted run is completed on the next.
    Each split draws from its own stream: adding ``num_test`` test scenes
    (``img_dir/test``) leaves the train and val scenes as they were.

    Returns:
        dict: Number of scenes per split.
    """
    counts = {}
    for split_no, (split, num) in enumerate((('train', num_train),
                                             ('val', num_val),
                                             ('test', num_test))):
        for sub in ('img_dir', 'ann_dir'):
            remove_stale_temporaries(osp.join(out_dir, sub, split))
        for i in range(num):
            name = f'scene_{i:05d}.png'
            img_path = osp.join(out_dir, 'img_dir', split, name)
            ann_path = osp.join(out_dir, 'ann_dir', split, name)
            if osp.isfile(img_path) and osp.isfile(ann_path):
                continue
            rng = np.random.default_rng([seed, split_no, i])
            image, label = render_scene(rng, size)
            atomic_write_image(ann_path, label)
            atomic_write_image(img_path, image)
        counts[split] = num
    return counts
