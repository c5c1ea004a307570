"""Stage 2 alone on the Raleigh scene (``onehot_rule.md``): each stage-2
export paints the real val and test masks (sampled as the synthesis
samples), and the demo's real-only segmentor of seed 0 reads the images.
Writes ``stage2.json`` here (each export's consistency mIoU, per-class
IoU and fraction of the real images' mIoU, per split)::

    DLDM_DEMO_DIR=$(realpath work_dirs/demo_raleigh_landsat) \\
    python docs/results/real_raleigh/paint.py work_dirs/demo_raleigh_landsat \\
        rgb=image_controlnet_small_raleigh_rgb.py:EXPORT_DIR \\
        onehot=image_controlnet_small_raleigh.py:EXPORT_DIR
"""
import argparse
import json
import os.path as osp

from mmengine.config import Config

from dldm_mmseg.experiments.alpha_sweep import finished_run, run_mIoU
from dldm_mmseg.experiments.demo.measures import paint_splits
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
RALEIGH = osp.join(HERE, '..', '..', '..', 'configs', 'demo', 'raleigh')
VEGETATION = ('herbaceous', 'shrubland', 'forest')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('demo', help='the demo work dir (data, segmentor)')
    parser.add_argument('exports', nargs='+', metavar='NAME=CONFIG:EXPORT',
                        help='a stage-2 config of configs/demo/raleigh and '
                        'its exported weights')
    args = parser.parse_args()
    reference_run = osp.join(args.demo, 'sweep', 'alpha_0')
    reference = finished_run(reference_run)
    real = run_mIoU(reference_run)
    synthesis = Config.fromfile(osp.join(
        RALEIGH, 'synth_small_raleigh.py')).synthesis.to_dict()
    with open(osp.join(args.demo, 'demo_settings.json')) as f:
        synthesis['image_sampling']['steps'] = json.load(f)['steps']
    summary = dict(real_images_mIoU=real, reference=reference_run,
                   stage2={})
    for item in args.exports:
        name, rest = item.split('=', 1)
        config, export = rest.split(':', 1)
        scores = paint_splits(
            osp.join(RALEIGH, config), export,
            osp.join(args.demo, 'data', 'raleigh_landsat'),
            synthesis['source_dataset'], synthesis, reference, real,
            osp.join(osp.dirname(osp.dirname(export)), 'painted_{split}'),
            f'real_raleigh_{name}_{{split}}')
        summary['stage2'][name] = dict(config=config,
                                       export=osp.abspath(export), **scores)
    if {'rgb', 'onehot'} <= set(summary['stage2']):
        summary['verdict'] = onehot_verdict(summary['stage2'])
        print(json.dumps(summary['verdict'], indent=1))
    with atomic_open(osp.join(HERE, 'stage2.json')) as f:
        json.dump(summary, f, indent=1)


def onehot_verdict(stage2):
    """``onehot_rule.md``: the pick on the val fraction (margin 0.03) and
    the prediction on the vegetation classes' val consistency IoU."""
    rgb, onehot = stage2['rgb']['val'], stage2['onehot']['val']
    margin = onehot['fraction'] - rgb['fraction']
    better = [c for c in VEGETATION
              if onehot[f'consistency_IoU.{c}'] > rgb[f'consistency_IoU.{c}']]
    return dict(val_fraction_margin=margin, adopt_onehot=margin > 0.03,
                prediction_vegetation_classes_higher=dict(
                    classes=better, held=len(better) >= 2))


if __name__ == '__main__':
    main()
