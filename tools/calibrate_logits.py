"""Fit per-class logit biases for a trained segmentor and write a config
that predicts with them (``BiasedEncoderDecoder``).

``--mode val`` fits the biases that maximise mIoU on the config's val
set; ``--mode prior`` corrects the class shares of the training stream
(real tiles mixed with synthetic ones, or oversampled) to those of the
real training tiles, without labelled val data. Test with the written
config and the same checkpoint.

Examples::

    python tools/calibrate_logits.py configs/deeplabv3plus_potsdam_syn40.py \\
        work_dirs/deeplabv3plus_potsdam_syn40/iter_80000.pth --mode val
    python tools/test.py \\
        work_dirs/deeplabv3plus_potsdam_syn40/iter_80000_calibrated.py \\
        work_dirs/deeplabv3plus_potsdam_syn40/iter_80000.pth
"""
import argparse
import json
import os.path as osp

import dldm_mmseg  # noqa: F401
from mmengine.config import DictAction

from dldm_mmseg.evaluation.logit_calibration import (calibrate,
                                                     write_calibrated_config)
from dldm_mmseg.utils.config import load_run_config
from dldm_mmseg.utils.io import atomic_open


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='the config the segmentor trained '
                        'with')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('--mode', choices=['val', 'prior'], default='val',
                        help='fit on val (default), or correct the '
                        'training stream\'s class shares')
    parser.add_argument('--out', help='the config to write, a .py file '
                        '(default: the checkpoint\'s path ending '
                        '_calibrated.py), with a .json of the fit beside it; '
                        'it inherits CONFIG, or holds it resolved when '
                        '--cfg-options are given')
    parser.add_argument('--stream-batches', type=int, default=200,
                        help='training batches counted by --mode prior')
    parser.add_argument('--max-pixels-per-image', type=int, default=16384,
                        help='val pixels drawn at random from each image, '
                        'which bounds the fit\'s memory (default 16384; 0 '
                        'keeps them all)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    args = parser.parse_args(argv)
    out = args.out or osp.splitext(args.checkpoint)[0] + '_calibrated.py'
    if not out.endswith('.py'):
        parser.error(f'--out {out}: give a .py file for the config')
    cfg = load_run_config(args.config, args.cfg_options)
    result = calibrate(cfg, args.checkpoint, args.mode,
                       args.stream_batches, args.max_pixels_per_image or None)
    result.update(config=osp.abspath(args.config),
                  checkpoint=osp.abspath(args.checkpoint))
    with atomic_open(osp.splitext(out)[0] + '.json') as f:
        json.dump(result, f, indent=2)
    write_calibrated_config(args.config, result['bias'], out,
                            f'tools/calibrate_logits.py --mode {args.mode} '
                            f'for {osp.basename(args.checkpoint)}',
                            cfg if args.cfg_options else None)
    bias = ', '.join(f'{b:+.3f}' for b in result['bias'])
    print(f'logit bias [{bias}] ({args.mode})')
    if args.mode == 'val':
        print(f'val mIoU {result["miou_before"]:.2f} -> '
              f'{result["miou_after"]:.2f} (on {result["pixels"]} val '
              'pixels)')
    print(f'wrote {out}; test it with: python tools/test.py {out} '
          f'{args.checkpoint}')
    return result


if __name__ == '__main__':
    main()
