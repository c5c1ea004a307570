"""What the class-relative filter's yardstick measures on Raleigh: the
real-only segmentor's mean loss of each class on the real pixels it was
trained on (the first 64 train pairs by name, as the filter read them
before; the class-covering pairs it reads now; every train pair), on the
val pixels it never saw, and on the plain synthetic set; and the share of
each class's synthetic pixels a filter with each yardstick would ignore
(loss above 1.25x and 2x the class mean). Decoding only: no generator or
segmentor is trained. Writes ``filter_means.json`` here::

    python docs/results/real_raleigh/filter_means.py work_dirs/raleigh_v2
"""
import argparse
import json
import os.path as osp

import numpy as np

import dldm_mmseg  # noqa: F401  (registers the modules)
from dldm_mmseg.evaluation.consistency import (ConsistencyChecker,
                                               class_covering_pairs,
                                               pixel_loss, real_pair_paths)
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
CLASSES = ('developed', 'agriculture', 'herbaceous', 'shrubland', 'forest',
           'water')
MULTIPLES = (1.25, 2.0)


def losses(checker, pairs):
    """Per pair, the reference's pixel loss, valid mask and labels."""
    return [(*pixel_loss(probs, label), label) for probs, label in
            checker.labelled_probabilities(pairs)]


def class_means(items):
    """Mean loss and pixel count of each class over ``losses`` items."""
    sums = np.zeros(len(CLASSES))
    count = np.zeros(len(CLASSES))
    for loss, valid, label in items:
        sums += np.bincount(label[valid], loss[valid], minlength=len(CLASSES))
        count += np.bincount(label[valid], minlength=len(CLASSES))
    return np.where(count > 0, sums / np.maximum(count, 1), np.nan), count


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dir', help='a finished Raleigh demo work dir')
    parser.add_argument('--out', default=osp.join(HERE, 'filter_means.json'))
    args = parser.parse_args()
    reference = osp.join(args.work_dir, 'sweep', 'alpha_0')
    real = osp.join(args.work_dir, 'data', 'raleigh_landsat')
    checker = ConsistencyChecker(
        osp.join(reference, 'deeplabv3plus_raleigh_syn40.py'),
        osp.join(reference, 'iter_3000.pth'), rule='class_loss',
        real_root=real, device='cpu')
    train = real_pair_paths(real, 'train')
    yardsticks = {
        'train, first 64 by name': train[:64],
        'train, class-covering 64': class_covering_pairs(real, 'train', True,
                                                         64, 1024),
        'train, all': train,
        'val, all': real_pair_paths(real, 'val'),
    }
    means, pixels = {}, {}
    for name, pairs in yardsticks.items():
        mean, count = class_means(losses(checker, pairs))
        means[name], pixels[name] = mean, count
    synthetic = losses(checker, real_pair_paths(
        osp.join(args.work_dir, 'data', 'raleigh_syn'), 'train'))
    means['synthetic set'], pixels['synthetic set'] = class_means(synthetic)
    ignored = {}
    for name, mean in means.items():
        # a class absent from the pairs: the mean over all their pixels,
        # as the filter read it before the class-covering pairs
        overall = np.nansum(mean * pixels[name]) / pixels[name].sum()
        limit = np.where(np.isnan(mean), overall, mean)
        for multiple in MULTIPLES:
            dropped = np.zeros(len(CLASSES))
            for loss, valid, label in synthetic:
                over = valid & (loss > multiple * limit[np.where(valid,
                                                                 label, 0)])
                dropped += np.bincount(label[over], minlength=len(CLASSES))
            ignored[f'{name}, x{multiple:g}'] = dict(zip(CLASSES, np.round(
                100 * dropped / pixels['synthetic set'], 1).tolist()))
    result = dict(
        reference=reference,
        # a class absent from the pairs: null
        class_mean_loss={name: dict(zip(CLASSES, [
            None if np.isnan(v) else v for v in np.round(m, 3).tolist()]))
            for name, m in means.items()},
        class_pixels={name: dict(zip(CLASSES, c.astype(int).tolist()))
                      for name, c in pixels.items()},
        synthetic_ignored_percent=ignored)
    with atomic_open(args.out) as f:
        json.dump(result, f, indent=1)
    for name, m in means.items():
        print(f'{name:28s}', ' '.join(f'{c} {v:.3f}' for c, v in
                                      zip(CLASSES, m)))
    for name, shares in ignored.items():
        print(f'ignored by {name:30s}', ' '.join(
            f'{c} {v:.1f}%' for c, v in shares.items()))


if __name__ == '__main__':
    main()
