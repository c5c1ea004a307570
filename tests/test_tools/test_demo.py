import json
import os.path as osp

from fixtures import load_tool



def test_quick_demo_writes_report_with_this_runs_numbers(tmp_path):
    demo = load_tool('demo')
    work = str(tmp_path / 'demo')
    results = demo.main(['--quick', '--work-dir', work, '--iters', '4'])
    assert set(results) == set(demo.RUNS)
    report = open(osp.join(work, 'report.md')).read()
    saved = json.load(open(osp.join(work, 'metrics.json')))
    assert json.dumps(saved, sort_keys=True) == json.dumps(results,
                                                        sort_keys=True)
    for name, metrics in results.items():
        row = next(line for line in report.splitlines()
                   if line.startswith(f'| {name} |'))
        assert f'{metrics["mIoU"]:.2f}' in row
        assert f'{metrics["mCPE"]:.2f}' in row
    assert osp.getsize(osp.join(work, 'per_class_iou.png')) > 1000
    assert osp.isfile(osp.join(work, 'data', 'toy_landcover',
                               'captions.jsonl'))
