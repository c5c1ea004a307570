import json
import os.path as osp

import pytest

from dldm_mmseg.datasets.toy_landcover import make_toy_landcover
from fixtures import load_tool, make_synth_set

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_sweep_trains_each_alpha_plots_and_resumes(tmp_path, monkeypatch):
    real = str(tmp_path / 'toy')
    make_toy_landcover(real, num_train=4, num_val=2, size=32)
    syn = str(tmp_path / 'syn')
    make_synth_set(syn, num=4, size=32)
    config = tmp_path / 'toy_syn.py'
    config.write_text(f"""
_base_ = [{osp.join(ROOT, 'configs', 'demo', 'deeplabv3plus_toy_syn0.py')!r}]
train_dataloader = dict(
    batch_size=2,
    sampler=dict(_delete_=True, type='InfiniteMixedRatioSampler',
                 syn_ratio=0.4),
    dataset=dict(_delete_=True, type='ConcatDataset', datasets=[
        dict(type='PotsdamDataset', data_root={real!r},
             data_prefix=dict(img_path='img_dir/train',
                              seg_map_path='ann_dir/train'),
             pipeline={{{{_base_.train_pipeline}}}}),
        dict(type='DiffusionSynthDataset', data_root={syn!r},
             source_dataset='PotsdamDataset',
             pipeline={{{{_base_.train_pipeline}}}})]))
val_dataloader = dict(dataset=dict(data_root={real!r}))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2))
""")
    sweep = load_tool('sweep')
    work = str(tmp_path / 'sweep')
    results = sweep.main([str(config), '--alphas', '0', '0.5', '1',
                          '--work-dir', work])
    assert sorted(results) == [0.0, 0.5, 1.0]
    assert all('mIoU' in r and 'IoU.car' in r for r in results.values())
    assert osp.getsize(osp.join(work, 'metric_vs_alpha.png')) > 1000
    table = open(osp.join(work, 'sweep.md')).read()
    assert '| alpha = 0.5 |' in table
    assert f'{results[1.0]["mIoU"]:.2f}' in table
    # a second call reuses the finished alphas (no training)
    monkeypatch.setattr(sweep, 'run_alpha', lambda *a, **k: pytest.fail(
        'retrained a finished alpha'))
    again = sweep.main([str(config), '--alphas', '0', '0.5', '1',
                        '--work-dir', work])
    assert json.dumps(again, sort_keys=True) == json.dumps(results,
                                                           sort_keys=True)


def test_sweep_checks_every_alpha_before_training(tmp_path, capsys):
    sweep = load_tool('sweep')
    for alphas, message in ((['0.4', '-0.2'], 'got -0.2'),
                            (['0.4', 'nan'], 'got nan'),
                            (['0.4', '0.4'], 'repeats')):
        with pytest.raises(SystemExit):
            sweep.main(['missing_config.py', '--work-dir', str(tmp_path),
                        '--alphas', *alphas])
        assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing trained or written
