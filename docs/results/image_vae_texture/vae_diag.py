"""Image VAEs side by side on one split of a prepared real scene: PSNR of
each VAE's round trip (and its squared error on the pixels of each
class), and a real-only segmentor's mIoU and per-class IoU on the real
images and on each VAE's reconstructions (``rule.md``'s ceiling)::

    python docs/results/image_vae_texture/vae_diag.py \
        work_dirs/vstrat_demo/data/spacenet_vegas_roads \
        work_dirs/vstrat_demo/sweep/alpha_0 \
        shipped=work_dirs/vstrat_demo/vae_image \
        cb0=work_dirs/vtex_vaes/cb0 \
        --also plain_vegas=work_dirs/vegas_demo/vae_image \
        --split val --out docs/results/image_vae_texture/vae_val.json
"""
import argparse
import json
import os.path as osp

import numpy as np
from diffusers import AutoencoderKL

import dldm_mmseg  # noqa: F401  (registers the plugin's modules)
from dldm_mmseg.evaluation.consistency import (ConsistencyChecker, real_pairs,
                                               vae_reconstructions)
from dldm_mmseg.experiments.alpha_sweep import finished_run
from dldm_mmseg.experiments.analysis import images_consistency
from dldm_mmseg.utils.io import atomic_open


def reconstruction_errors(images, recons, masks, classes):
    """PSNR (dB) over all pixels and the mean squared error (0-255 scale)
    on the pixels of each class."""
    x = np.stack(images).astype(np.float64)
    y = np.stack(recons).astype(np.float64)
    squared = ((x - y) ** 2).mean(-1)
    labels = np.stack(masks)
    result = dict(psnr=float(10 * np.log10(255 ** 2 / squared.mean())))
    for index, name in enumerate(classes):
        result[f'mse.{name}'] = float(squared[labels == index].mean())
    return result


def pick(result: dict, names, tie: float = 1.0) -> str:
    """``rule.md``'s pick: the VAE whose reconstructions the segmentor
    scores highest, unless one with fewer latent channels is within
    ``tie`` mIoU of it."""
    best = max(names, key=lambda n: result[n]['consistency_mIoU'])
    close = [n for n in names if result[n]['consistency_mIoU']
             >= result[best]['consistency_mIoU'] - tie]
    return min(close, key=lambda n: (result[n]['latent_channels'],
                                     -result[n]['consistency_mIoU']))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data_root', help='the prepared real scene')
    parser.add_argument('segmentor', help='run dir of a real-only segmentor '
                        '(its config and last checkpoint)')
    parser.add_argument('vaes', nargs='+', metavar='NAME=FOLDER',
                        help='the candidates of the pick')
    parser.add_argument('--also', nargs='*', default=[],
                        metavar='NAME=FOLDER',
                        help='VAEs scored beside them, not candidates')
    parser.add_argument('--split', default='val')
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    checker = ConsistencyChecker(**finished_run(args.segmentor),
                                 device='cpu')
    classes = checker.model.dataset_meta['classes']
    images, masks = real_pairs(args.data_root, args.split, True, 10 ** 6)
    result = dict(split=args.split, tiles=len(images),
                  segmentor=osp.abspath(args.segmentor),
                  real=images_consistency(checker, images, masks, classes))
    for item in args.vaes + args.also:
        name, folder = item.split('=', 1)
        vae = AutoencoderKL.from_pretrained(folder).float()
        recons = vae_reconstructions(vae, images)
        result[name] = dict(
            folder=osp.abspath(folder),
            latent_channels=vae.config.latent_channels,
            **reconstruction_errors(images, recons, masks, classes),
            **images_consistency(checker, recons, masks, classes))
        print(name, json.dumps(result[name]), flush=True)
    result['picked'] = pick(result, [i.split('=', 1)[0] for i in args.vaes])
    print('picked', result['picked'])
    with atomic_open(args.out) as f:
        json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()
