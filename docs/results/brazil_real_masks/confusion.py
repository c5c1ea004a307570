"""Which way the painted images miss their masks: the real-only segmentor
``--reference`` reads each pair of a real-mask set
(``<work>/data/brazil_syn_real_masks``) and, beside it, the real image
of the tile whose mask was painted (as often as it was drawn). Per work
dir (``label=folder``) and source: consistency IoU, recall and
precision per class (``images_consistency``). Writes ``confusion.json``
here::

    python docs/results/brazil_real_masks/confusion.py \\
        budget=work_dirs/bbud full=work_dirs/bkl6 \\
        --reference work_dirs/brz/sweep/alpha_0
"""
import argparse
import os.path as osp
import sys

from dldm_mmseg.evaluation.consistency import ConsistencyChecker, load_pairs
from dldm_mmseg.experiments.alpha_sweep import finished_run
from dldm_mmseg.experiments.analysis import images_consistency
from dldm_mmseg.utils.io import read_jsonl

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import write_verdict  # noqa: E402

CONFIG = 'configs/demo/brazil/deeplabv3plus_brazil_syn40.py'
CLASSES = ('background', 'building')


def read(checker, pairs):
    images, labels = load_pairs(pairs, True)
    return {k.replace('consistency_', ''): round(v, 2) for k, v in
            images_consistency(checker, images, labels, CLASSES,
                               batch_size=90).items()}


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
        out[label] = dict(
            painted=read(checker, [
                tuple(osp.join(syn, sub, 'train', r['id'] + '.png')
                      for sub in ('img_dir', 'ann_dir')) for r in records]),
            real=read(checker, [
                tuple(osp.join(real, sub, 'train', r['real_mask'] + '.png')
                      for sub in ('img_dir', 'ann_dir')) for r in records]))
    write_verdict(osp.join(HERE, 'confusion.json'), out)


if __name__ == '__main__':
    main()
