"""``colours.png``: for the first pairs of the appearance set whose real
tile has a background that is not grey, the real tile its caption
describes, the image the plain (kl6) stage 2 painted for the same mask
and the image the appearance stage 2 painted, with the caption's colour
words and the mask (class index as grey level)::

    python docs/results/brazil_appearance/figure.py \\
        work_dirs/bkl6/data/brazil_syn work_dirs/bapp/data/brazil_syn \\
        --out docs/results/brazil_appearance/colours.png
"""
import argparse
import json
import os.path as osp

import matplotlib
import numpy as np
from PIL import Image

from dldm_mmseg.datasets.captioning import load_captions, parse_appearance
from dldm_mmseg.datasets.synth_layout import ANN_DIR, IMG_DIR, INFO, MANIFEST
from dldm_mmseg.utils.io import read_jsonl
from dldm_mmseg.utils.label_stats import read_label_map, to_train_ids

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('plain', help='the plain stage 2\'s set')
    parser.add_argument('appearance', help="the appearance stage 2's set")
    parser.add_argument('--num', type=int, default=8)
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    with open(osp.join(args.appearance, INFO), encoding='utf-8') as f:
        config = json.load(f)['config']
    classes = config['source_dataset']['metainfo']['classes']
    reduce_zero = config['source_dataset']['reduce_zero_label']
    real_root = config['real_captions']['data_root']
    patches = load_captions(osp.join(real_root, 'captions.jsonl'), classes)
    chosen = []
    for record in read_jsonl(osp.join(args.appearance, MANIFEST)):
        words = parse_appearance(record['image_prompt'], classes)
        if 'grey' not in words.get(classes[0], 'grey'):
            chosen.append((record, words))
        if len(chosen) == args.num:
            break
    rows = ('real tile (caption)', 'plain stage 2', 'appearance stage 2',
            'mask')
    fig, axes = plt.subplots(len(rows), len(chosen),
                             figsize=(1.8 * len(chosen), 1.9 * len(rows)),
                             squeeze=False)
    for col, (record, words) in enumerate(chosen):
        name = record['id'] + '.png'
        images = [
            Image.open(osp.join(real_root,
                                patches[record['real_patch']]['img_path'])),
            Image.open(osp.join(args.plain, IMG_DIR, name)),
            Image.open(osp.join(args.appearance, IMG_DIR, name)),
            Image.fromarray((to_train_ids(read_label_map(
                osp.join(args.appearance, ANN_DIR, name)), reduce_zero)
                * (255 // max(len(classes) - 1, 1))).astype(np.uint8))]
        for row, image in enumerate(images):
            ax = axes[row, col]
            ax.imshow(image, cmap='gray', vmin=0, vmax=255,
                      interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(rows[row], fontsize=7)
        axes[0, col].set_title('\n'.join(f'{c}: {w}' for c, w in
                                         words.items()), fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
