"""Score the stage-2 runs of ``train.sh`` on the real val and test masks.

Each run's export paints the held-out scenes' masks (as the demo's
``real_masks`` / ``real_val_masks`` consistency does, sampled as the
synthesis samples), and the seed-0 real-only segmentor of a finished demo
reads the images. Writes ``summary.json`` beside this script (every run,
and mean ± std over the seeds of each kind) and prints the README's
table::

    python docs/results/stage2_shares/paint.py \
        --demo work_dirs/atl_s2long --runs work_dirs/s2_shares \
        --reference work_dirs/atl_s2/sweep/alpha_0
"""
import argparse
import glob
import json
import os
import os.path as osp
import re

from mmengine.config import Config

from dldm_mmseg.experiments.alpha_sweep import finished_run, run_mIoU
from dldm_mmseg.experiments.demo.measures import paint_splits
from dldm_mmseg.experiments.report import mean_and_std
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(osp.dirname(HERE)))
ATLANTA = osp.join(ROOT, 'configs', 'demo', 'atlanta')
CONFIGS = dict(plain='image_controlnet_small_atlanta.py',
               shares='image_controlnet_small_atlanta_shares.py')
KEYS = ('consistency_mIoU', 'consistency_IoU.building', 'fraction')


def digits(key: str) -> int:
    return 3 if key == 'fraction' else 2


def runs_of(runs_dir: str, demo: str) -> dict:
    """``{(kind, seed): export}``: the runs of ``train.sh`` and, as the
    plain run of seed 0, the demo's own stage 2."""
    found = {('plain', 0): osp.join(
        demo, 'image_controlnet_small_atlanta', 'export', 'final')}
    for folder in glob.glob(osp.join(runs_dir, '*_s*')):
        match = re.fullmatch(r'(plain|shares)_s(\d+)', osp.basename(folder))
        export = osp.join(folder, 'export', 'final')
        if match and osp.isdir(export):
            found[match.group(1), int(match.group(2))] = export
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--demo', default='work_dirs/atl_s2long',
                        help='the demo work dir train.sh trained over')
    parser.add_argument('--runs', default='work_dirs/s2_shares',
                        help="train.sh's output folder")
    parser.add_argument('--reference', default='work_dirs/atl_s2/sweep/'
                        'alpha_0', help='the real-only segmentor run')
    args = parser.parse_args()
    os.environ['DLDM_DEMO_DIR'] = args.demo
    synthesis = Config.fromfile(osp.join(
        ATLANTA, 'synth_small_atlanta.py')).synthesis.to_dict()
    with open(osp.join(args.demo, 'demo_settings.json')) as f:
        synthesis['image_sampling']['steps'] = json.load(f)['steps']
    reference = finished_run(args.reference)
    real = run_mIoU(args.reference)
    data_root = osp.join(args.demo, 'data', 'spacenet_atlanta')
    per_run = {}
    for (kind, seed), export in sorted(runs_of(args.runs,
                                               args.demo).items()):
        scores = paint_splits(
            osp.join(ATLANTA, CONFIGS[kind]), export, data_root,
            synthesis['source_dataset'], synthesis, reference, real,
            osp.join(args.runs, 'painted', f'{kind}_s{seed}', '{split}'),
            f'stage2_shares_{kind}_s{seed}_{{split}}')
        per_run.setdefault(kind, {})[seed] = {
            split: {k: result[k] for k in KEYS}
            for split, result in scores.items()}
    summary = dict(real_images_mIoU=real, runs={})
    for kind, seeds in per_run.items():
        mean, std = mean_and_std([seeds[s] for s in sorted(seeds)])
        summary['runs'][kind] = dict(seeds=sorted(seeds), per_seed=seeds,
                                     mean=mean, std=std)
    with atomic_open(osp.join(HERE, 'summary.json')) as f:
        json.dump(summary, f, indent=2)
    print('| stage 2 | seeds | val mIoU | val building IoU | val fraction '
          '| test mIoU | test building IoU | test fraction |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- |')
    for kind, run in summary['runs'].items():
        cells = [f"{run['mean'][split][key]:.{digits(key)}f} ± "
                 f"{run['std'][split][key]:.{digits(key)}f}"
                 for split in ('val', 'test') for key in KEYS]
        print(f"| {kind} | {','.join(map(str, run['seeds']))} | "
              + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
