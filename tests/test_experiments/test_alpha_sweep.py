"""The harnesses' shared runs: a config as it is, with a schedule, and
what a finished run leaves."""
import json
import os.path as osp

import pytest

from dldm_mmseg.experiments import alpha_sweep

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'demo', 'deeplabv3plus_toy_syn0.py')


def test_run_config_trains_the_config_with_the_schedule(
        monkeypatch, tmp_path):
    trained = []

    def fake_train_and_test(cfg):
        trained.append(cfg)
        return {'mIoU': 1.0}

    monkeypatch.setattr(alpha_sweep, 'train_and_test', fake_train_and_test)
    options = dict(alpha_sweep.schedule_options(7, seed=3),
                   **{'optim_wrapper.optimizer.lr': 0.01})
    assert alpha_sweep.run_config(CONFIG, str(tmp_path), options) == {
        'mIoU': 1.0}
    cfg, = trained
    assert cfg.work_dir == str(tmp_path)
    assert cfg.train_cfg.max_iters == 7
    assert cfg.train_cfg.val_interval == 7
    assert cfg.default_hooks.checkpoint.interval == 7
    assert cfg.randomness.seed == 3
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    # the poly schedule has no end of its own: it stretches to max_iters
    assert all('end' not in s for s in cfg.param_scheduler)


def test_schedule_options_without_a_seed_keep_the_configs():
    options = alpha_sweep.schedule_options(20)
    assert 'randomness.seed' not in options
    assert set(options.values()) == {20}


def test_finished_run_names_the_config_and_last_checkpoint(tmp_path):
    run = tmp_path / 'alpha_0'
    run.mkdir()
    with pytest.raises(FileNotFoundError,
                       match=r'alpha_0 is not a finished.*checkpoint: None'):
        alpha_sweep.finished_run(str(run))
    (run / 'deeplabv3plus_x_syn40.py').write_text('')
    for name in ('iter_10.pth', 'iter_20.pth'):
        (run / name).write_text('')
    (run / 'last_checkpoint').write_text(str(run / 'iter_20.pth'))
    assert alpha_sweep.finished_run(str(run)) == dict(
        config=str(run / 'deeplabv3plus_x_syn40.py'),
        checkpoint=str(run / 'iter_20.pth'))
    # by the name of the config it ran (the path it was given)
    assert alpha_sweep.finished_run(
        str(run), 'configs/deeplabv3plus_x_syn40.py')['config'] == str(
            run / 'deeplabv3plus_x_syn40.py')
    (run / 'other.py').write_text('')
    with pytest.raises(FileNotFoundError, match=r'configs \*\.py: 2'):
        alpha_sweep.finished_run(str(run))
    with pytest.raises(FileNotFoundError, match='configs missing.py: 0'):
        alpha_sweep.finished_run(str(run), 'missing.py')


def test_run_miou_reads_the_last_validation_and_the_test(tmp_path):
    (tmp_path / 'metrics.json').write_text(json.dumps({'mIoU': 71.5}))
    (tmp_path / alpha_sweep.VAL_METRICS).write_text(json.dumps(
        {'mIoU': 80.25, 'aAcc': 99.0}))
    assert alpha_sweep.run_mIoU(str(tmp_path)) == dict(val=80.25,
                                                       test=71.5)


def test_a_variant_identity_names_generator_weights_by_content(
        tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    export = tmp_path / 'stage1' / 'export' / 'final'
    (export / 'unet').mkdir(parents=True)
    weights = export / 'unet' / 'diffusion_pytorch_model.safetensors'
    weights.write_bytes(b'first')
    variant = dict(suffix='masks_x', options=dict(mask_generator=dict(
        config=CONFIG, weights=str(export))))

    def identity():
        return alpha_sweep.alpha_run_identity(CONFIG, 0.4, {}, variant)

    before = identity()
    recorded = before['variant']['options']['mask_generator']['weights']
    assert recorded.startswith('folder:') and str(tmp_path) not in recorded
    assert identity() == before
    weights.write_bytes(b'retrained')  # same folder, other weights
    assert identity() != before
