"""Collect ``downstream.sh``: the seed-0 segmentors on the synthetic set of
each plain stage-2 seed (seed 0 is the shipped stage 2, in
``work_dirs/atl_s2``). Writes ``downstream.json`` beside this script and
prints the README's table::

    python docs/results/stage2_shares/downstream.py
"""
import json
import os.path as osp

from dldm_mmseg.experiments.report import mean_and_std
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
WORK_DIRS = {0: 'work_dirs/atl_s2', 1: 'work_dirs/atl_plain_s1',
             2: 'work_dirs/atl_plain_s2'}
RUNS = ('alpha_0', 'oversample40', 'alpha_0.4')
KEYS = ('mIoU', 'IoU.building')


def load(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def main():
    per_seed = {}
    for seed, work in WORK_DIRS.items():
        scores = {}
        for run in RUNS:
            folder = osp.join(work, 'sweep', run)
            for split, name in (('test', 'metrics.json'),
                                ('val', 'val_metrics.json')):
                metrics = load(osp.join(folder, name))
                scores[f'{split} {run}'] = {k: metrics[k] for k in KEYS}
        consistency = load(osp.join(work, 'metrics.json'))['consistency']
        scores['consistency'] = {
            k: consistency[k] for k in (
                'consistency_fraction', 'consistency_IoU.building',
                'real_masks_consistency_fraction',
                'real_masks_consistency_IoU.building')}
        per_seed[seed] = scores
    mean, std = mean_and_std([per_seed[s] for s in sorted(per_seed)])
    with atomic_open(osp.join(HERE, 'downstream.json')) as f:
        json.dump(dict(work_dirs=WORK_DIRS, per_seed=per_seed, mean=mean,
                       std=std), f, indent=2)
    print('| run (segmentor seed 0) | test mIoU | test building IoU | '
          'val mIoU | val building IoU | per stage-2 seed (test mIoU) |')
    print('| --- | --- | --- | --- | --- | --- |')
    for run in RUNS:
        cells = [f"{mean[f'{split} {run}'][k]:.2f} ± "
                 f"{std[f'{split} {run}'][k]:.2f}"
                 for split in ('test', 'val') for k in KEYS]
        seeds = ', '.join(f"{per_seed[s][f'test {run}']['mIoU']:.2f}"
                          for s in sorted(per_seed))
        print(f'| {run} | ' + ' | '.join(cells) + f' | {seeds} |')


if __name__ == '__main__':
    main()
