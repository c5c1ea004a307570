"""How stage 1's Raleigh layouts differ from the real train masks, and
whether the one-hot mask VAE stage 1 draws through already loses the
difference (the real masks after its round trip): per class, its share
of the labelled pixels, the share of tiles holding it and filled by it,
its mean patch size (4-connected components) and the share of its
pixels on a patch edge (a 4-neighbour of another label), over each
set's 361 masks; and eight masks of each set side by side. Needs no
segmentor or stage-1 model. Writes ``layouts.md`` / ``layouts.json`` /
``layouts.png`` here, or in ``--out-dir``::

    python docs/results/raleigh_real_masks/layouts.py \\
        --work work_dirs/raleigh_ot
"""
import argparse
import glob
import json
import textwrap
import os.path as osp
import sys

import matplotlib
import numpy as np
import torch
from diffusers import AutoencoderKL
from PIL import Image
from scipy import ndimage

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'raleigh_on_top'))
from on_top import CLASSES, ONEHOT  # noqa: E402
from aggregate import write_verdict  # noqa: E402

from dldm_mmseg.utils.io import atomic_open  # noqa: E402
from dldm_mmseg.utils.mask_encoding import (  # noqa: E402
    onehot_index, onehot_pixels)
from dldm_mmseg.utils.palette import IGNORE_INDEX, index_to_rgb  # noqa: E402

SETS = {'real train masks': 'raleigh_landsat/ann_dir/train',
        'stage-1 set, no boost':
            f'raleigh_syn_{ONEHOT[len("alpha_1_"):]}_noboost/ann_dir/train',
        'stage-1 set, boost 0.5':
            f'raleigh_syn_{ONEHOT[len("alpha_1_"):]}/ann_dir/train'}
ROUND_TRIP = 'real train masks, mask VAE round trip'
STATS = {'share': 'share of labelled pixels (%)',
         'tiles': 'tiles holding it (%)',
         'mostly': 'tiles it fills to 90% or more (%)',
         'patch': 'mean patch size (pixels)',
         'specks': 'patches of 4 pixels or fewer (%)',
         'edge': 'pixels on a patch edge (%)'}


@torch.no_grad()
def vae_round_trip(masks, vae_dir, batch_size=32):
    """``masks`` (label 0 unlabelled) encoded and decoded by the one-hot
    mask VAE in ``vae_dir`` (latent means), each pixel its largest
    channel, in the same labels."""
    vae = AutoencoderKL.from_pretrained(vae_dir).float().eval()
    num = len(CLASSES)
    ids = np.where(masks == 0, IGNORE_INDEX, masks.astype(np.int64) - 1)
    out = []
    for start in range(0, len(ids), batch_size):
        pixels = onehot_pixels(torch.as_tensor(ids[start:start + batch_size]),
                               num)
        decoded = vae.decode(vae.encode(pixels).latent_dist.mean).sample
        out.append(onehot_index(decoded, num).numpy())
    back = np.concatenate(out).astype(np.int64)
    return np.where(back == IGNORE_INDEX, 0, back + 1).astype(np.uint8)


def load(folder):
    """The set's masks (label 0: unlabelled; class ``i``: ``i + 1``)."""
    paths = sorted(glob.glob(osp.join(folder, '*.png')))
    if not paths:
        raise SystemExit(f'no masks in {folder}: run run.py and '
                         '../raleigh_on_top/noboost.py first')
    return np.stack([np.asarray(Image.open(p)) for p in paths])


def edge_pixels(masks):
    """Per pixel, whether a 4-neighbour inside the tile holds another
    label."""
    edge = np.zeros(masks.shape, bool)
    for axis in (1, 2):
        differ = np.diff(masks, axis=axis) != 0
        lead = [slice(None)] * 3
        lead[axis] = slice(1, None)
        trail = [slice(None)] * 3
        trail[axis] = slice(None, -1)
        edge[tuple(trail)] |= differ
        edge[tuple(lead)] |= differ
    return edge


def layout_stats(masks):
    """``{class: {stat: value}}`` of :data:`STATS` over ``masks``."""
    labelled = (masks > 0).sum()
    per_tile = np.maximum((masks > 0).sum(axis=(1, 2)), 1)
    edge = edge_pixels(masks)
    out = {}
    for i, name in enumerate(CLASSES, start=1):
        here = masks == i
        sizes = [np.bincount(ndimage.label(tile)[0].ravel())[1:]
                 for tile in here if tile.any()]
        sizes = np.concatenate(sizes) if sizes else np.zeros(0)
        out[name] = dict(
            share=100 * here.sum() / labelled,
            tiles=100 * here.any(axis=(1, 2)).mean(),
            mostly=100 * (here.sum(axis=(1, 2)) >= 0.9 * per_tile).mean(),
            patch=float(sizes.mean()) if sizes.size else float('nan'),
            specks=100 * float((sizes <= 4).mean()) if sizes.size
            else float('nan'),
            edge=100 * (edge & here).sum() / max(here.sum(), 1))
    return out


def table(stats):
    """Markdown rows: a row per set and statistic, a column per class."""
    rows = ['| set | statistic | ' + ' | '.join(CLASSES) + ' |',
            '| --- ' * (2 + len(CLASSES)) + '|']
    for stat, label in STATS.items():
        for name, per_class in stats.items():
            rows.append(f'| {name} | {label} | ' + ' | '.join(
                f'{per_class[c][stat]:.1f}' for c in CLASSES) + ' |')
    return rows


def set_palette(work, folder):
    """The palette of the synthetic set whose masks are ``folder`` (as in
    :data:`SETS`, under ``<work>/data``), from its ``synth_info.json``."""
    with open(osp.join(work, 'data', folder, '..', '..', 'synth_info.json'),
              encoding='utf-8') as f:
        return json.load(f)['identity']['source_dataset']['palette']


def figure(masks, palette, path, count=8):
    """``count`` masks of each set, evenly spaced through it, in
    ``palette``, a row per set (unlabelled black)."""
    fig, axes = plt.subplots(len(masks), count,
                             figsize=(1.3 * count, 1.5 * len(masks)))
    for row, (name, set_masks) in zip(axes, masks.items()):
        picks = np.linspace(0, len(set_masks) - 1, count).round()
        for k, ax in zip(picks.astype(int), row):
            rgb = index_to_rgb(set_masks[k].astype(np.int64) - 1, palette)
            rgb[set_masks[k] == 0] = 0
            ax.imshow(rgb, interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel('\n'.join(textwrap.wrap(name, 20)), fontsize=7)
    fig.suptitle('Raleigh masks (red developed, yellow agriculture, light '
                 'green herbaceous, brown shrubland, green forest, blue '
                 'water)', fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', required=True,
                        help="raleigh_on_top's Raleigh work dir")
    parser.add_argument('--out-dir', default=HERE)
    args = parser.parse_args()
    masks = {name: load(osp.join(args.work, 'data', folder))
             for name, folder in SETS.items()}
    masks = dict(masks, **{ROUND_TRIP: vae_round_trip(
        masks['real train masks'], osp.join(args.work, 'vae_mask_onehot'))})
    stats = {name: layout_stats(m) for name, m in masks.items()}
    text = '\n'.join(
        ['# Stage 1\'s Raleigh layouts against the real train masks', '',
         f'{len(next(iter(masks.values())))} masks a set, 32 x 32 pixels.',
         ''] + table(stats)) + '\n'
    with atomic_open(osp.join(args.out_dir, 'layouts.md')) as f:
        f.write(text)
    write_verdict(osp.join(args.out_dir, 'layouts.json'), stats)
    figure(masks, set_palette(args.work, SETS['stage-1 set, no boost']),
           osp.join(args.out_dir, 'layouts.png'))
    print(text)


if __name__ == '__main__':
    main()
