"""Roofs on background: of the pairs whose mask holds (almost) no
building, the share of pixels the seed-0 real-only segmentor calls
building in their images, for the real val and train tiles and for each
synthetic set. Writes ``roofs.json`` here::

    python docs/results/brazil_image_vae/roofs.py \\
        work_dirs/brz/sweep/alpha_0 \\
        real=work_dirs/brz/data/brazil_buildings \\
        demo=work_dirs/brz/data/brazil_syn kl6=work_dirs/bkl6/data/brazil_syn
"""
import argparse
import json
import os.path as osp

import numpy as np

import dldm_mmseg  # noqa: F401  (registers the plugin's modules)
from dldm_mmseg.evaluation.consistency import ConsistencyChecker, real_pairs
from dldm_mmseg.experiments.alpha_sweep import finished_run
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
BUILDING = 1


def roofs(checker, images, masks, max_share: float) -> dict:
    """Over the pairs whose mask's building share is at most
    ``max_share``: how many, the mean share of their pixels the segmentor
    calls building, and the fraction of them where it calls over 5%."""
    chosen = [i for i, m in enumerate(masks)
              if (m == BUILDING).mean() <= max_share]
    called = []
    for start in range(0, len(chosen), 32):
        batch = [images[i] for i in chosen[start:start + 32]]
        labels, _ = checker.predict(batch)
        called += [(label == BUILDING).mean() for label in labels]
    called = np.array(called)
    return dict(pairs=len(chosen), of=len(masks),
                called_building_share=float(called.mean()),
                pairs_called_over_5_percent=float((called > 0.05).mean()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('segmentor', help='run dir of the real-only '
                        'segmentor')
    parser.add_argument('sets', nargs='+', metavar='NAME=ROOT',
                        help="mmseg-format sets ('real' is read on its val "
                        'and train splits, the others on train)')
    parser.add_argument('--max-share', type=float, default=0.01)
    args = parser.parse_args()
    checker = ConsistencyChecker(**finished_run(args.segmentor),
                                 device='cpu')
    result = dict(max_building_share=args.max_share)
    for item in args.sets:
        name, root = item.split('=', 1)
        for split in (('val', 'train') if name == 'real' else ('train',)):
            images, masks = real_pairs(root, split, True, 10 ** 6)
            key = f'{name}_{split}'
            result[key] = roofs(checker, images, masks, args.max_share)
            print(key, json.dumps(result[key]), flush=True)
    with atomic_open(osp.join(HERE, 'roofs.json')) as f:
        json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()
