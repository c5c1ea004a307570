"""BatchNorm statistics re-estimated on the real training samples."""
import os.path as osp

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from mmseg.registry import DATASETS
from dldm_mmseg.datasets.toy_landcover import make_toy_landcover
from dldm_mmseg.datasets.samplers import real_loader
from dldm_mmseg.engine.hooks.real_batchnorm_hook import recalibrate_batchnorm
from dldm_mmseg.utils.config import load_run_config
from fixtures import make_seg_dataset, make_synth_set

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'demo', 'deeplabv3plus_toy_syn0.py')


class Tiny(BaseModel):
    """dropout -> conv -> bn on the forward path; ``aux`` off it."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.conv = nn.Conv2d(3, 4, 1)
        self.bn = nn.BatchNorm2d(4)
        self.aux = nn.BatchNorm2d(4)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.bn(self.conv(self.drop(inputs)))


def batches(n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [dict(inputs=torch.randn(2, 3, 5, 5, generator=g) * (i + 1) + i)
            for i in range(n)]


@pytest.mark.parametrize('training', [True, False])
def test_statistics_are_the_average_over_the_batches(training):
    torch.manual_seed(0)
    model = Tiny().train(training)
    model.aux.running_mean.fill_(3.0)
    # statistics of training before: replaced, not averaged in
    model.bn.running_mean.fill_(5.0)
    model.bn.running_var.fill_(7.0)
    model.bn.num_batches_tracked.fill_(1500)
    data = batches()
    with torch.no_grad():
        features = [model.conv(b['inputs']) for b in data]
    means = torch.stack([f.mean((0, 2, 3)) for f in features])
    variances = torch.stack([f.var((0, 2, 3), unbiased=True)
                             for f in features])
    assert recalibrate_batchnorm(model, data) == 3
    # dropout was off (else the features, and these, would differ)
    torch.testing.assert_close(model.bn.running_mean, means.mean(0))
    torch.testing.assert_close(model.bn.running_var, variances.mean(0))
    assert model.bn.num_batches_tracked.item() == 3
    assert model.bn.momentum == 0.1
    # a layer forward does not reach keeps its statistics
    assert (model.aux.running_mean == 3.0).all()
    assert model.aux.num_batches_tracked.item() == 0
    assert all(m.training == training for m in model.modules())


def test_max_batches_and_refusals():
    model = Tiny()
    assert recalibrate_batchnorm(model, batches(), max_batches=2) == 2
    assert model.bn.num_batches_tracked.item() == 2
    before = model.bn.running_mean.clone()
    with pytest.raises(ValueError, match='no batch'):
        recalibrate_batchnorm(model, [])
    torch.testing.assert_close(model.bn.running_mean, before)
    assert model.bn.num_batches_tracked.item() == 2

    class NoNorm(BaseModel):
        def forward(self, inputs, data_samples=None, mode='tensor'):
            return inputs

    with pytest.raises(ValueError, match='no BatchNorm layer'):
        recalibrate_batchnorm(NoNorm(), batches())


def test_frozen_statistics_stay_frozen():
    """A BatchNorm layer in eval mode while the model trains (mmseg's
    ``norm_eval=True``) keeps its statistics; called on a model in eval
    mode, every layer is re-estimated."""
    model = Tiny().train()
    model.bn.eval()
    model.bn.running_mean.fill_(5.0)
    assert recalibrate_batchnorm(model, batches()) == 3
    assert (model.bn.running_mean == 5.0).all() and not model.bn.training
    assert model.bn.num_batches_tracked.item() == 0
    model.eval()
    recalibrate_batchnorm(model, batches())
    assert not (model.bn.running_mean == 5.0).any()
    assert model.bn.num_batches_tracked.item() == 3


def test_real_loader_reads_the_real_parts_only(tmp_path):
    real_root = make_seg_dataset(str(tmp_path / 'real'), num_train=5,
                                 num_val=0)
    syn_root = str(tmp_path / 'syn')
    make_synth_set(syn_root, num=4)
    real = dict(type='PotsdamDataset', data_root=real_root,
                data_prefix=dict(img_path='img_dir/train',
                                 seg_map_path='ann_dir/train'),
                pipeline=[dict(type='LoadImageFromFile')])
    concat = DATASETS.build(dict(type='ConcatDataset', datasets=[
        dict(type='DiffusionSynthDataset', data_root=syn_root,
             source_dataset='PotsdamDataset',
             pipeline=[dict(type='LoadImageFromFile')]), real]))
    loader = torch.utils.data.DataLoader(
        concat, batch_size=2, collate_fn=lambda samples: samples)
    paths = [s['img_path'] for batch in real_loader(loader) for s in batch]
    assert len(paths) == 4  # 5 real samples, full batches of 2
    assert all(p.startswith(real_root) for p in paths)
    # shuffled (tiles are stored in scene order), the same way each call
    everything = [[s['img_path'] for batch in real_loader(
        loader, batch_size=5, seed=seed) for s in batch] for seed in (0, 0, 1)]
    in_order = sorted(everything[0])
    assert everything[0] == everything[1] != in_order
    assert sorted(everything[2]) == in_order and everything[2] != everything[0]
    assert len(real_loader(loader, batch_size=8).dataset) == 5
    assert len(list(real_loader(loader, batch_size=8))) == 1
    synthetic_only = torch.utils.data.DataLoader(concat.datasets[0])
    with pytest.raises(ValueError, match='no real sample'):
        real_loader(synthetic_only)


def test_real_loader_follows_the_samplers_synthetic_datasets(tmp_path):
    from dldm_mmseg.datasets.samplers import MixedRatioSampler

    def part(name):
        return dict(type='PotsdamDataset', data_root=make_seg_dataset(
            str(tmp_path / name), num_train=3, num_val=0, seed=len(name)),
            data_prefix=dict(img_path='img_dir/train',
                             seg_map_path='ann_dir/train'),
            pipeline=[dict(type='LoadImageFromFile')])

    # two plain datasets; the config names the second one synthetic
    concat = DATASETS.build(dict(type='ConcatDataset', datasets=[
        part('real'), part('generated')]))
    sampler = MixedRatioSampler(concat, syn_ratio=0.4,
                                synthetic_datasets=[1], seed=0)
    loader = torch.utils.data.DataLoader(
        concat, batch_size=3, sampler=sampler,
        collate_fn=lambda samples: samples)
    paths = [s['img_path'] for batch in real_loader(loader) for s in batch]
    assert len(paths) == 3
    assert all(p.startswith(str(tmp_path / 'real')) for p in paths)
    # the same through a batch sampler over it
    batched = torch.utils.data.DataLoader(
        concat, batch_sampler=torch.utils.data.BatchSampler(
            sampler, batch_size=3, drop_last=False),
        collate_fn=lambda samples: samples)
    assert sorted(s['img_path'] for batch in real_loader(batched, 3)
                  for s in batch) == sorted(paths)


def test_real_loader_never_reads_a_synthetic_part(tmp_path):
    real_root = make_seg_dataset(str(tmp_path / 'real'), num_train=2,
                                 num_val=0)
    syn_root = str(tmp_path / 'syn')
    make_synth_set(syn_root, num=4)
    concat = DATASETS.build(dict(type='ConcatDataset', datasets=[
        dict(type='DiffusionSynthDataset', data_root=syn_root,
             source_dataset='PotsdamDataset',
             pipeline=[dict(type='LoadImageFromFile')]),
        dict(type='PotsdamDataset', data_root=real_root,
             data_prefix=dict(img_path='img_dir/train',
                              seg_map_path='ann_dir/train'),
             pipeline=[dict(type='LoadImageFromFile')])]))

    class EverythingReal(torch.utils.data.SequentialSampler):
        # a sampler that counts every part as real (as the class-aware
        # oversampler does)
        real_indices = list(range(6))

    loader = torch.utils.data.DataLoader(
        concat, batch_size=2, sampler=EverythingReal(concat),
        collate_fn=lambda samples: samples)
    paths = [s['img_path'] for batch in real_loader(loader) for s in batch]
    assert len(paths) == 2 and all(p.startswith(real_root) for p in paths)


def test_hook_leaves_the_last_checkpoint_with_real_statistics(tmp_path):
    data = str(tmp_path / 'toy')
    make_toy_landcover(data, num_train=4, num_val=2, size=32, num_test=2)
    work = str(tmp_path / 'work')
    options = {f'{split}_dataloader.dataset.data_root': data
               for split in ('train', 'val', 'test')}
    options.update({'train_cfg.max_iters': 3, 'train_cfg.val_interval': 3,
                    'default_hooks.checkpoint.interval': 3,
                    'train_dataloader.batch_size': 2})
    cfg = load_run_config(CONFIG, options, work_dir=work)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='RealBatchNormHook')]
    runner = Runner.from_cfg(cfg)
    runner.train()
    saved = torch.load(osp.join(work, 'iter_3.pth'), map_location='cpu',
                       weights_only=False)['state_dict']
    tracked = {k: v.item() for k, v in saved.items()
               if k.endswith('num_batches_tracked')}
    # 3 training steps, then 2 real batches (4 tiles of 2) on the
    # decoder's path; the auxiliary head (off that path) keeps its 3
    assert tracked['decode_head.bottleneck.bn.num_batches_tracked'] == 2
    assert tracked['backbone.stem.1.num_batches_tracked'] == 2
    assert tracked['auxiliary_head.convs.0.bn.num_batches_tracked'] == 3
    log = open(osp.join(work, runner.timestamp,
                        f'{runner.timestamp}.log')).read()
    assert 'BatchNorm statistics re-estimated on 2 batches of the 4 ' \
        'real training samples' in log
