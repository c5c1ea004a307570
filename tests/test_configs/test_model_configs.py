"""Each shipped model config trains 2 iterations + validates on CPU.

The shipped configs stay untouched; this test shrinks backbones, crops and
data roots on the loaded config, as a user would with --cfg-options.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from fixtures import make_seg_dataset, make_synth_set

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = 32

TINY_MODELS = {
    'deeplabv3plus': dict(
        pretrained=None,
        backbone=dict(depth=18, stem_channels=8, base_channels=8,
                      norm_cfg=dict(type='BN')),
        decode_head=dict(in_channels=64, channels=16, c1_in_channels=8,
                         c1_channels=8, dilations=(1, 2),
                         norm_cfg=dict(type='BN')),
        auxiliary_head=dict(in_channels=32, channels=8,
                            norm_cfg=dict(type='BN'))),
    'pspnet': dict(
        pretrained=None,
        backbone=dict(depth=18, stem_channels=8, base_channels=8,
                      norm_cfg=dict(type='BN')),
        decode_head=dict(in_channels=64, channels=16, pool_scales=(1, 2),
                         norm_cfg=dict(type='BN')),
        auxiliary_head=dict(in_channels=32, channels=8,
                            norm_cfg=dict(type='BN'))),
    'segformer': dict(
        pretrained=None,
        backbone=dict(init_cfg=None, embed_dims=8, num_heads=[1, 2, 5, 8],
                      num_layers=[1, 1, 1, 1]),
        decode_head=dict(in_channels=[8, 16, 40, 64], channels=16,
                         norm_cfg=dict(type='BN'))),
}


def shrink_pipelines(node):
    """Rewrite 512x512 scales and crops to the fixture size, in place."""
    if isinstance(node, dict):
        for key in ('scale', 'crop_size'):
            if key in node and tuple(node[key]) == (512, 512):
                node[key] = (SIZE, SIZE)
        for value in node.values():
            shrink_pipelines(value)
    elif isinstance(node, list):
        for value in node:
            shrink_pipelines(value)


def tiny_config(path, data_root, syn_root, work_dir):
    cfg = Config.fromfile(path)
    model_name = osp.basename(path).split('_')[0]
    cfg.merge_from_dict(dict(
        model=TINY_MODELS[model_name], work_dir=work_dir,
        train_cfg=dict(max_iters=2, val_interval=2),
        default_hooks=dict(logger=dict(interval=1),
                           checkpoint=dict(interval=2)),
        env_cfg=dict(dist_cfg=dict(backend='gloo'))))
    cfg.model.data_preprocessor.size = (SIZE, SIZE)
    cfg.data_preprocessor.size = (SIZE, SIZE)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].update(batch_size=2, num_workers=0,
                           persistent_workers=False)
    cfg.val_dataloader.batch_size = 1
    train_set = cfg.train_dataloader.dataset
    for ds in train_set.get('datasets', [train_set]):
        is_syn = ds.type == 'DiffusionSynthDataset'
        ds.data_root = syn_root if is_syn else data_root
    for hook in cfg.get('custom_hooks', []):
        if hook['type'] == 'SynthesisHook':  # the fixture set is prebuilt
            hook.update(out_dir=syn_root, num=4, synth_config=osp.join(
                ROOT, hook['synth_config']))
    cfg.val_dataloader.dataset.data_root = data_root
    cfg.test_dataloader.dataset.data_root = data_root
    shrink_pipelines(cfg._cfg_dict)
    return cfg


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    real = make_seg_dataset(str(root / 'real'), num_train=6, num_val=2,
                            size=SIZE)
    syn = str(root / 'syn')
    make_synth_set(syn, num=4, size=SIZE)
    return real, syn


@pytest.mark.parametrize('name', ['deeplabv3plus_potsdam_syn40',
                                  'pspnet_potsdam_syn40',
                                  'segformer_potsdam_syn40'])
def test_config_trains_and_validates(name, data, tmp_path):
    torch.manual_seed(0)
    cfg = tiny_config(osp.join(ROOT, 'configs', name + '.py'), *data,
                      str(tmp_path / 'work'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    sampler = runner.train_dataloader.sampler
    hook = next(h for h in runner.hooks if type(h).__name__ ==
                'SynthesisHook')
    assert hook.result == dict(generated=0, complete=True)  # reused
    assert type(sampler).__name__ == 'InfiniteMixedRatioSampler'
    assert sampler.num_extra == round(0.4 * 6)
    metrics = runner.val_loop.run()
    for key in ('mIoU', 'mFscore', 'mCPE'):
        assert key in metrics and metrics[key] == metrics[key]  # not NaN
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_2.pth'))


@pytest.mark.parametrize('path', sorted(
    glob.glob(osp.join(ROOT, 'configs', '*.py'))))
def test_every_config_builds_its_pieces(path):
    cfg = Config.fromfile(path)
    assert 'dldm_mmseg' in cfg.custom_imports.imports
    assert [e['type'] for e in cfg.val_evaluator] == [
        'PerClassIoUMetric', 'ClassProportionMetric']
    assert 'mFscore' in cfg.val_evaluator[0]['iou_metrics']
    sampler = cfg.train_dataloader.sampler
    name = osp.basename(path)
    if '_syn' in name and not name.endswith('_syn0.py'):
        alpha = int(name.rsplit('_syn', 1)[1][:-3]) / 100
        assert sampler.type == 'InfiniteMixedRatioSampler'
        assert sampler.syn_ratio == pytest.approx(alpha)
        syn = cfg.train_dataloader.dataset.datasets[1]
        assert syn.type == 'DiffusionSynthDataset'
        assert syn.pipeline == cfg.train_pipeline
    elif 'oversample' in name:
        assert sampler.type == 'InfiniteClassAwareOversampler'
    else:
        assert sampler.type == 'InfiniteSampler'
