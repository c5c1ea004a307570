"""Stage 2 alone, before and after the image VAE of ``rule.md``: each
stage-2 export paints the real val and test masks of the stratified
split (sampled as the synthesis samples), and the seed-0 real-only
segmentor reads the images. Writes ``stage2.json`` here::

    python docs/results/image_vae_texture/paint.py \
        shipped=work_dirs/vstrat_demo picked=work_dirs/vtex \
        --reference work_dirs/vstrat_demo/sweep/alpha_0
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config

from dldm_mmseg.experiments.alpha_sweep import finished_run, run_mIoU
from dldm_mmseg.experiments.demo.measures import paint_splits
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
VEGAS = osp.join(HERE, '..', '..', '..', 'configs', 'demo', 'vegas')
STAGE2 = 'image_controlnet_small_vegas'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('demos', nargs='+', metavar='NAME=WORK_DIR',
                        help='work dirs holding data/ and a stage-2 export '
                        f'in {STAGE2}/export/final')
    parser.add_argument('--reference', required=True,
                        help='the real-only segmentor run')
    args = parser.parse_args()
    reference = finished_run(args.reference)
    real = run_mIoU(args.reference)
    summary = dict(real_images_mIoU=real, stage2={})
    for item in args.demos:
        name, demo = item.split('=', 1)
        os.environ['DLDM_DEMO_DIR'] = osp.abspath(demo)
        synthesis = Config.fromfile(osp.join(
            VEGAS, 'synth_small_vegas.py')).synthesis.to_dict()
        scores = paint_splits(
            osp.join(VEGAS, STAGE2 + '.py'),
            osp.join(demo, STAGE2, 'export', 'final'),
            osp.join(demo, 'data', 'spacenet_vegas_roads'),
            synthesis['source_dataset'], synthesis, reference, real,
            osp.join(demo, STAGE2, 'painted_{split}'),
            f'image_vae_texture_{name}_{{split}}')
        summary['stage2'][name] = dict(work_dir=osp.abspath(demo), **scores)
    with atomic_open(osp.join(HERE, 'stage2.json')) as f:
        json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
