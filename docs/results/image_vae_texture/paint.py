"""Stage 2 alone, before and after the image VAE of ``rule.md``: each
stage-2 export paints the real val and test masks of a real demo scene
(sampled as the synthesis samples), and the seed-0 real-only segmentor
reads the images. Writes ``stage2.json`` here, or ``--out``::

    python docs/results/image_vae_texture/paint.py \
        shipped=work_dirs/vstrat_demo picked=work_dirs/vtex \
        --reference work_dirs/vstrat_demo/sweep/alpha_0
    python docs/results/image_vae_texture/paint.py \
        --dataset brazil_buildings demo=work_dirs/brz kl6=work_dirs/bkl6 \
        --reference work_dirs/brz/sweep/alpha_0 \
        --out docs/results/brazil_image_vae/stage2.json
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config

from dldm_mmseg.experiments.alpha_sweep import finished_run, run_mIoU
from dldm_mmseg.experiments.demo.measures import paint_splits
from dldm_mmseg.experiments.demo_datasets import DEMO_DATASETS
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.join(HERE, '..', '..', '..')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('demos', nargs='+', metavar='NAME=WORK_DIR',
                        help='work dirs holding data/ and a stage-2 export '
                        "in <the dataset's stage-2 config name>/export/final")
    parser.add_argument('--reference', required=True,
                        help='the real-only segmentor run')
    parser.add_argument('--dataset', default='spacenet_vegas_roads_stratified',
                        choices=sorted(set(DEMO_DATASETS) - {'toy'}),
                        help="the demo's real scene (tools/demo.py "
                        '--dataset)')
    parser.add_argument('--out', default=osp.join(HERE, 'stage2.json'))
    args = parser.parse_args()
    dataset = DEMO_DATASETS[args.dataset]
    config = osp.join(ROOT, dataset.configs['image'])
    stage2 = osp.splitext(osp.basename(config))[0]
    reference = finished_run(args.reference)
    real = run_mIoU(args.reference)
    summary = dict(real_images_mIoU=real, stage2={})
    for item in args.demos:
        name, demo = item.split('=', 1)
        os.environ['DLDM_DEMO_DIR'] = osp.abspath(demo)
        synthesis = Config.fromfile(osp.join(
            ROOT, dataset.configs['synth'])).synthesis.to_dict()
        scores = paint_splits(
            config, osp.join(demo, stage2, 'export', 'final'),
            osp.join(demo, 'data', dataset.data_folder),
            synthesis['source_dataset'], synthesis, reference, real,
            osp.join(demo, stage2, 'painted_{split}'),
            f'image_vae_texture_{name}_{{split}}')
        summary['stage2'][name] = dict(work_dir=osp.abspath(demo), **scores)
    with atomic_open(args.out) as f:
        json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
