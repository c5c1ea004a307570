"""Collect the comparison of ``README.md`` into ``summary.json``: stage 2
on real masks (test and val, seed-0 real-only segmentor) and the
segmentors of seeds 0-2 (val and test) for the shipped stage 2 (work dir
``work_dirs/atl_w4``) and the three trained on the H200
(``work_dirs/atl_gpu_<run>``)::

    python docs/results/atlanta_stage2_gpu/aggregate.py
"""
import json
import os.path as osp

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
WORK = osp.join(HERE, '..', '..', '..', 'work_dirs')
STAGE2 = {'shipped (CPU, batch 16, 240 epochs)': 'atl_w4',
          'H200 b16_s0 (batch 16, 368 epochs)': 'atl_gpu_b16_s0',
          'H200 b64_s0 (batch 64, 867 epochs)': 'atl_gpu_b64_s0',
          'H200 b64_s1 (batch 64, 867 epochs, seed 1)': 'atl_gpu_b64_s1'}
KEYS = ('mIoU', 'IoU.building', 'Precision.building', 'Recall.building')


def load(*parts):
    with open(osp.join(WORK, *parts), encoding='utf-8') as f:
        return json.load(f)


def run_metrics(work, run):
    """Test and val metrics of ``run`` (a sweep folder name) for seeds
    0-2."""
    out = {}
    for split, name in (('test', 'metrics.json'), ('val',
                                                   'val_metrics.json')):
        per_seed = [load(work, 'sweep' + ('' if s == 0 else f'_seed{s}'),
                         run, name) for s in range(3)]
        out[split] = {k: dict(mean=float(np.mean([m[k] for m in per_seed])),
                              std=float(np.std([m[k] for m in per_seed],
                                               ddof=1)),
                              per_seed=[m[k] for m in per_seed])
                      for k in KEYS}
    return out


def main():
    summary = dict(real_only=run_metrics('atl_w4', 'alpha_0'),
                   oversampling=run_metrics('atl_w4', 'oversample40'),
                   stage2={})
    for label, work in STAGE2.items():
        metrics = load(work, 'metrics.json')
        c = metrics['consistency']
        summary['stage2'][label] = dict(
            work_dir=work,
            painted_test={k: c[f'real_masks_consistency_{k}'] for k in (
                'mIoU', 'IoU.building', 'fraction')},
            painted_val={k: c[f'real_val_masks_consistency_{k}'] for k in (
                'mIoU', 'IoU.building', 'fraction')},
            synthetic_set={k: c[f'consistency_{k}'] for k in (
                'mIoU', 'IoU.building', 'fraction')},
            fid=metrics['fid'],
            alpha_04=run_metrics(work, 'alpha_0.4'))
    summary['real_images'] = dict(test=c['real_images_mIoU'],
                                  val=c['real_val_images_mIoU'])
    with open(osp.join(HERE, 'summary.json'), 'w', encoding='utf-8') as f:
        json.dump(summary, f, indent=1)
    fmt = '{mean:.2f} ± {std:.2f}'.format
    for label, s in [('real only', summary['real_only']),
                     ('oversampling', summary['oversampling'])] + [
            (k, v['alpha_04']) for k, v in summary['stage2'].items()]:
        print(f'| {label} | ' + ' | '.join(
            fmt(**s[split][k]) for split in ('val', 'test')
            for k in ('mIoU', 'IoU.building')) + ' |')


if __name__ == '__main__':
    main()
