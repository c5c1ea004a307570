import json
import os
import os.path as osp

from fixtures import load_tool


def _row(report: str, name: str) -> str:
    return next(line for line in report.splitlines()
                if line.startswith(f'| {name} |'))


def test_quick_demo_runs_every_stage_and_reports_this_runs_numbers(tmp_path):
    demo = load_tool('demo')
    work = str(tmp_path / 'demo')
    out = demo.main(['--quick', '--work-dir', work])
    results, cpe = out['results'], out['mask_cpe']
    assert set(results) == {'alpha = 0', 'alpha = 0.4', 'oversampling 40%'}
    assert set(cpe) == set(demo.MASK_CONFIGS)
    report = open(osp.join(work, 'report.md')).read()
    saved = json.load(open(osp.join(work, 'metrics.json')))
    assert json.dumps(saved['segmentation'], sort_keys=True) == json.dumps(
        results, sort_keys=True)  # NaN IoUs of absent classes included
    assert saved['mask_cpe'] == cpe
    for name, metrics in results.items():
        row = _row(report, name)
        assert f'{metrics["mIoU"]:.2f}' in row
        assert f'{metrics["IoU.car"]:.2f}' in row
    for name, metrics in cpe.items():
        assert f'{metrics["mCPE"]:.2f}' in _row(report, name)
    assert f'{saved["set_mcpe"]["mCPE"]:.2f}%' in report
    assert f'{out["consistency"]["consistency_mIoU"]:.2f}%' in report
    if out['fid'] is not None:
        assert f'{out["fid"]:.1f}' in report
    for png in ('per_class_iou', 'metric_vs_alpha', 'class_shares',
                'samples'):
        path = osp.join(work, f'{png}.png')
        assert osp.getsize(path) > 1000 and f'({png}.png)' in report
    # every stage left its output: fitted VAE, three exports, the set
    assert osp.isfile(osp.join(work, 'vae', 'config.json'))
    for run in ('mask_small_toy', 'mask_small_toy_ce_only',
                'image_controlnet_small_toy'):
        assert osp.isfile(osp.join(work, run, 'export', 'final', 'unet',
                                   'config.json')), run
    syn = osp.join(work, 'data', 'toy_syn')
    assert len([n for n in os.listdir(osp.join(syn, 'img_dir', 'train'))
                if n.endswith('.png')]) == 16
    # a rerun reuses every step's output and gives the same numbers
    again = demo.main(['--quick', '--work-dir', work])
    assert json.dumps(again['results'], sort_keys=True) == json.dumps(
        results, sort_keys=True)
    assert again['mask_cpe'] == cpe
