import json
import os
import os.path as osp

import pytest

from dldm_mmseg.datasets.toy_landcover import make_toy_landcover
from fixtures import POTSDAM_CLASSES, load_tool, make_synth_set

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_sweep_trains_each_alpha_plots_and_resumes(tmp_path, monkeypatch):
    real = str(tmp_path / 'toy')
    make_toy_landcover(real, num_train=4, num_val=2, size=32, num_test=2)
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
    with pytest.raises(SystemExit, match=r'--precision-recall bike: not '
                       r'a class of .*toy_syn.py \(impervious_surface'):
        sweep.main([str(config), '--work-dir', work,
                    '--precision-recall', 'car', 'bike'])
    assert not osp.exists(work)  # refused before anything trained
    results = sweep.main([str(config), '--alphas', '0', '0.5', '1',
                          '--work-dir', work, '--precision-recall', 'car'])
    assert sorted(results) == [0.0, 0.5, 1.0]
    assert all('mIoU' in r and 'IoU.car' in r for r in results.values())
    assert osp.getsize(osp.join(work, 'metric_vs_alpha.png')) > 1000
    table = open(osp.join(work, 'sweep.md')).read()
    assert '| alpha = 0.5 |' in table
    assert f'{results[1.0]["mIoU"]:.2f}' in table
    header = table.splitlines()[2]
    assert '| precision car | recall car |' in header
    row = next(line for line in table.splitlines()
               if line.startswith('| alpha = 1 |')).split(' | ')
    columns = header.split(' | ')
    for name, key in (('precision car', 'Precision.car'),
                      ('recall car', 'Recall.car')):
        assert row[columns.index(name)] == f'{results[1.0][key]:.2f}'
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


def test_weak_class_variant_gets_its_own_set_and_rows(tmp_path, monkeypatch):
    from mmengine.config import Config
    sweep = load_tool('sweep')
    metrics = tmp_path / 'alpha_0_metrics.json'
    metrics.write_text(json.dumps(
        {f'IoU.{c}': 80.0 for c in POTSDAM_CLASSES}))
    cfg = Config.fromfile(osp.join(ROOT, 'configs',
                                   'deeplabv3plus_potsdam_syn40.py'))
    sweep.set_variant(cfg, **sweep.weak_class_variant(str(metrics)))
    synthetic = cfg.train_dataloader.dataset.datasets[1]
    assert synthetic.data_root == 'data/potsdam_syn_weak_classes'
    assert synthetic.synthesis.options.shares.weak_classes == str(metrics)
    # the builder merges the options into the synth config it builds from
    from dldm_mmseg.registry import SET_BUILDERS
    built = SET_BUILDERS.build(dict(
        type='SyntheticSetBuilder',
        **dict(synthetic.synthesis,
               config=osp.join(ROOT, synthetic.synthesis.config))))
    assert built.cfg.synthesis.shares.weak_classes == str(metrics)
    assert built.cfg.synthesis.shares.rarity_exponent == 0.5  # kept
    # a dict option where the synth config says None (consistency=None)
    flt = dict(config='ref.py', checkpoint='ref.pth', rule='class_loss')
    filtered = SET_BUILDERS.build(dict(
        type='SyntheticSetBuilder', config=osp.join(
            ROOT, synthetic.synthesis.config), num=4,
        options=dict(consistency=flt, shares=dict(rarity_exponent=1.0))))
    assert filtered.cfg.synthesis.consistency == flt
    assert filtered.cfg.synthesis.shares.rarity_exponent == 1.0
    assert filtered.cfg.synthesis.shares.mode == 'real'  # merged, kept
    # options given as one string (--cfg-options key="{...}" parses so)
    with pytest.raises(TypeError, match='options must be a dict, got '
                       '"{\'shares\'.*dotted key'):
        SET_BUILDERS.build(dict(
            type='SyntheticSetBuilder', config=osp.join(
                ROOT, synthetic.synthesis.config), num=4,
            options="{'shares': {'rarity_exponent': 0}}"))
    # a config whose synthetic set is made elsewhere has no variant
    prebuilt = Config.fromfile(osp.join(ROOT, 'configs',
                                        'deeplabv3plus_potsdam_syn40.py'))
    del prebuilt.train_dataloader.dataset.datasets[1]['synthesis']
    with pytest.raises(ValueError, match='synthesis=dict'):
        sweep.set_variant(prebuilt, **sweep.weak_class_variant(str(metrics)))
    with pytest.raises(FileNotFoundError, match='--weak-classes'):
        sweep.weak_class_variant(str(tmp_path / 'none.json'))

    # the sweep trains each alpha > 0 again on the variant, resumably
    calls = []

    def fake_run(config, alpha, work_dir, options=None, variant=None):
        weak = variant and variant['options']['shares']['weak_classes']
        calls.append((alpha, osp.basename(work_dir), weak))
        return {'mIoU': 50.0 + alpha + (weak is not None), 'IoU.car': 1.0}

    monkeypatch.setattr(sweep, 'run_alpha', fake_run)
    work = str(tmp_path / 'sweep')
    sweep.main([osp.join(ROOT, 'configs', 'deeplabv3plus_potsdam_syn40.py'),
                '--alphas', '0', '0.4', '--work-dir', work,
                '--weak-classes', str(metrics)])
    assert calls == [(0.0, 'alpha_0', None), (0.4, 'alpha_0.4', None),
                     (0.4, 'alpha_0.4_weak_classes', str(metrics))]
    table = open(osp.join(work, 'sweep.md')).read()
    weak_row = next(line for line in table.splitlines()
                    if line.startswith('| alpha = 0.4, weak classes |'))
    assert '| 51.40 |' in weak_row
    # finished runs are reused only when made from the same config, alpha
    # and weak-class metrics; otherwise refused, naming what differs
    calls.clear()
    config = osp.join(ROOT, 'configs', 'deeplabv3plus_potsdam_syn40.py')
    sweep.main([config, '--alphas', '0', '0.4', '--work-dir', work,
                '--weak-classes', str(metrics)])
    assert calls == []
    with pytest.raises(ValueError, match=r'alpha_0 holds the metrics of '
                       r'another run \(config differ'):
        sweep.main([config, '--alphas', '0', '--work-dir', work,
                    '--cfg-options', 'train_cfg.max_iters=7'])
    metrics.write_text(json.dumps({**json.loads(metrics.read_text()),
                                   'IoU.car': 1.0}))
    with pytest.raises(ValueError, match='variant differ'):
        sweep.main([config, '--alphas', '0.4', '--work-dir', work,
                    '--weak-classes', str(metrics)])
    os.remove(osp.join(work, 'alpha_0', 'run_identity.json'))
    with pytest.raises(ValueError, match='no record of what made it'):
        sweep.main([config, '--alphas', '0', '--work-dir', work])
    assert calls == []
    # checked before anything trains: a file without every class's IoU,
    # and a synthetic set made elsewhere (no synthesis to redirect)
    calls.clear()
    partial = tmp_path / 'partial.json'
    partial.write_text(json.dumps({'IoU.car': 40.0}))
    with pytest.raises(ValueError, match=r"no IoU.<class> for \['impervious"):
        sweep.main([osp.join(ROOT, 'configs', 'deeplabv3plus_potsdam_syn40'
                             '.py'), '--alphas', '0.4', '--work-dir',
                    str(tmp_path / 'w2'), '--weak-classes', str(partial)])
    with pytest.raises(ValueError, match='synthesis=dict'):
        sweep.main([osp.join(ROOT, 'configs', 'deeplabv3plus_potsdam_syn40'
                             '.py'), '--alphas', '0.4', '--work-dir',
                    str(tmp_path / 'w3'), '--weak-classes', str(metrics),
                    '--cfg-options', 'train_dataloader.dataset.datasets.1.'
                    'synthesis=None'])
    assert calls == []
    with pytest.raises(SystemExit, match='does not exist'):
        sweep.main([osp.join(ROOT, 'configs', 'deeplabv3plus_potsdam_syn40'
                             '.py'), '--alphas', '0.4', '--work-dir', work,
                    '--weak-classes', str(tmp_path / 'none.json')])
