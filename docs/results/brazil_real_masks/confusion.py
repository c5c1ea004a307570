"""Which way the painted images disagree with their masks: the real-only
segmentor ``--reference`` reads each pair of a real-mask set
(``<work>/data/brazil_syn_real_masks``) and, beside it, the real image
of the tile whose mask was painted. Per work dir (``label=folder``) and
source: the share of background pixels it calls building and the share
of building pixels it calls background. Writes ``confusion.json`` here::

    python docs/results/brazil_real_masks/confusion.py \\
        budget=work_dirs/bbud full=work_dirs/bkl6 \\
        --reference work_dirs/brz/sweep/alpha_0
"""
import argparse
import os.path as osp
import sys

import numpy as np

from dldm_mmseg.evaluation.consistency import (ConsistencyChecker,
                                               load_pairs)
from dldm_mmseg.experiments.alpha_sweep import finished_run
from dldm_mmseg.utils.io import read_jsonl

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import write_verdict  # noqa: E402

CONFIG = 'configs/demo/brazil/deeplabv3plus_brazil_syn40.py'
BATCH = 90


def rates(checker, pairs):
    """Background called building, building called background (percent
    of each class's pixels), and the pixel counts."""
    counts = np.zeros((2, 2), np.int64)  # mask class x predicted class
    for start in range(0, len(pairs), BATCH):
        images, labels = load_pairs(pairs[start:start + BATCH], True)
        predicted, _ = checker.predict(images)
        for label, pred in zip(labels, predicted):
            valid = label != 255
            np.add.at(counts, (label[valid], pred[valid]), 1)
    return dict(background_called_building=round(
                    100 * counts[0, 1] / counts[0].sum(), 2),
                building_called_background=round(
                    100 * counts[1, 0] / counts[1].sum(), 2),
                pixels=dict(background=int(counts[0].sum()),
                            building=int(counts[1].sum())))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('works', nargs='+', metavar='LABEL=FOLDER')
    parser.add_argument('--reference', required=True,
                        help='a finished real-only segmentor run')
    args = parser.parse_args()
    reference = finished_run(args.reference, CONFIG)
    checker = ConsistencyChecker(reference['config'],
                                 reference['checkpoint'], device='cpu')
    out = dict(reference=args.reference)
    for label, work in (w.split('=', 1) for w in args.works):
        syn = osp.join(work, 'data', 'brazil_syn_real_masks')
        real = osp.join(work, 'data', 'brazil_buildings')
        records = list(read_jsonl(osp.join(syn, 'manifest.jsonl')))
        painted = [(osp.join(syn, 'img_dir', 'train', r['id'] + '.png'),
                    osp.join(syn, 'ann_dir', 'train', r['id'] + '.png'))
                   for r in records]
        # the real tile of each pair, as often as it was drawn
        tiles = [(osp.join(real, 'img_dir', 'train', r['real_mask'] + '.png'),
                  osp.join(real, 'ann_dir', 'train', r['real_mask'] + '.png'))
                 for r in records]
        out[label] = dict(painted=rates(checker, painted),
                          real=rates(checker, tiles))
        print(label, out[label])
    write_verdict(osp.join(HERE, 'confusion.json'), out)


if __name__ == '__main__':
    main()
