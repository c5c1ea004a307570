"""GeneratorExportHook keeps the newest checkpoint exports and checks the
disk before writing one; it and VAEExportHook refuse a model and data of
different real sets."""
import os
import os.path as osp
import types

import pytest
import torch

from dldm_mmseg.engine.hooks import generator_hooks
from dldm_mmseg.engine.hooks.generator_hooks import GeneratorExportHook
from dldm_mmseg.engine.hooks.vae_export_hook import VAEExportHook


class FakeGenerator(torch.nn.Module):
    """Exports a file of 1000 bytes, as a generator writes its weights."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(100))
        self.exports = []

    def export(self, path):
        os.makedirs(path)
        with open(osp.join(path, 'weights.bin'), 'wb') as f:
            f.write(b'0' * 1000)
        self.exports.append(osp.basename(path))


class Logger:
    def __init__(self):
        self.lines = []

    def info(self, text):
        self.lines.append(text)


def runner_at(work_dir):
    return types.SimpleNamespace(work_dir=str(work_dir), iter=0,
                                 model=FakeGenerator(), logger=Logger())


def checkpoint(hook, runner, iteration):
    hook.before_save_checkpoint(runner, {'meta': {'iter': iteration}})


@pytest.mark.parametrize('keep', [1, 2])
def test_only_the_newest_exports_are_kept(tmp_path, keep):
    runner = runner_at(tmp_path)
    hook = GeneratorExportHook(keep=keep)
    for iteration in (10, 20, 30):
        checkpoint(hook, runner, iteration)
    hook.after_train(runner)
    kept = sorted(os.listdir(tmp_path / 'export'))
    assert kept == sorted(['final'] + [f'iter_{i}' for i in
                                       (10, 20, 30)[3 - keep:]])
    assert runner.model.exports == ['iter_10', 'iter_20', 'iter_30', 'final']
    assert any('(0.0 MB)' in line for line in runner.logger.lines)
    assert sum('removed the older export' in line
               for line in runner.logger.lines) == 3 - keep


def test_a_full_disk_stops_before_writing(tmp_path, monkeypatch):
    runner = runner_at(tmp_path)
    hook = GeneratorExportHook()
    checkpoint(hook, runner, 10)  # 1000 bytes: the next needs as much
    monkeypatch.setattr(generator_hooks.shutil, 'disk_usage',
                        lambda path: types.SimpleNamespace(free=999))
    with pytest.raises(OSError, match=f'{tmp_path}.*export has 0.00 GB '
                       'free.*at_checkpoints=False'):
        checkpoint(hook, runner, 20)
    assert runner.model.exports == ['iter_10']
    assert os.listdir(tmp_path / 'export') == ['iter_10']  # nothing lost
    # the first export is checked against the trainable weights (fp32)
    fresh = runner_at(tmp_path / 'b')
    monkeypatch.setattr(generator_hooks.shutil, 'disk_usage',
                        lambda path: types.SimpleNamespace(free=399))
    with pytest.raises(OSError, match='takes about 0.00 GB'):
        GeneratorExportHook().after_train(fresh)
    assert fresh.model.exports == []
    with pytest.raises(ValueError, match='keep >= 1'):
        GeneratorExportHook(keep=0)


def real_set(classes, palette):
    return types.SimpleNamespace(classes=tuple(classes), palette=palette)


def runner_over(model, train, val=None):
    val_loop = None if val is None else types.SimpleNamespace(
        dataloader=types.SimpleNamespace(dataset=val))
    return types.SimpleNamespace(
        cfg=types.SimpleNamespace(filename='configs/x.py'), model=model,
        train_dataloader=types.SimpleNamespace(dataset=train),
        _val_loop=val_loop)


def test_before_train_refuses_a_model_and_data_of_different_sets():
    potsdam = real_set(('road', 'car'), [[255, 255, 255], [255, 255, 0]])
    other = real_set(('water', 'car'), [[0, 0, 255], [255, 255, 0]])
    repainted = real_set(('road', 'car'), [[255, 255, 255], [9, 9, 9]])
    hook = GeneratorExportHook()
    hook.before_train(runner_over(potsdam, potsdam, potsdam))  # same set
    with pytest.raises(ValueError, match=r"configs/x.py \(train_dataloader"
                       r".dataset\): the model has the classes \['road', "
                       r"'car'\] and the dataset the classes \['water', "
                       r"'car'\].*model.source_dataset"):
        hook.before_train(runner_over(potsdam, other))
    with pytest.raises(ValueError, match=r'val_dataloader.*palette \[\[255, '
                       r'255, 255\], \[255, 255, 0\]\] and the dataset the '
                       r'palette \[\[255, 255, 255\], \[9, 9, 9\]\]'):
        hook.before_train(runner_over(potsdam, potsdam, repainted))
    # a VAE knows its palette only; a wrapper dataset is not checked
    vae = types.SimpleNamespace(palette=potsdam.palette)
    renamed = real_set(('a', 'b'), potsdam.palette)
    VAEExportHook().before_train(runner_over(vae, renamed))
    with pytest.raises(ValueError, match='palette'):
        VAEExportHook().before_train(runner_over(vae, repainted))
    GeneratorExportHook().before_train(
        runner_over(potsdam, types.SimpleNamespace()))
    # inside wrappers too (ConcatDataset.datasets, RepeatDataset.dataset)
    concat = types.SimpleNamespace(datasets=[potsdam, types.SimpleNamespace(
        dataset=other)])
    with pytest.raises(ValueError, match="classes \\['water', 'car'\\]"):
        GeneratorExportHook().before_train(runner_over(potsdam, concat))
