"""Each shipped model config trains 2 iterations + validates on CPU.

The shipped configs stay untouched; this test shrinks backbones, crops and
data roots on the loaded config, as a user would with --cfg-options.
"""
import glob
import os.path as osp
import warnings

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner

from mmseg.registry import DATA_SAMPLERS, DATASETS, HOOKS, METRICS, MODELS
from fixtures import POTSDAM_CLASSES, make_seg_dataset, make_synth_set

LOVEDA_CLASSES = ('background', 'building', 'road', 'water', 'barren',
                  'forest', 'agricultural')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = 32
NUM_REAL, NUM_SYN = 6, 6  # enough synthetic samples for alpha = 1

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
    """Rewrite resize scales and 512x512 crops to the fixture size, in
    place."""
    if isinstance(node, dict):
        if 'scale' in node and isinstance(node['scale'], (list, tuple)):
            node['scale'] = (SIZE, SIZE)
        if 'crop_size' in node and tuple(node['crop_size']) == (512, 512):
            node['crop_size'] = (SIZE, SIZE)
        for value in node.values():
            shrink_pipelines(value)
    elif isinstance(node, list):
        for value in node:
            shrink_pipelines(value)


def classes_of(path):
    return LOVEDA_CLASSES if 'loveda' in osp.basename(path) else \
        POTSDAM_CLASSES


def tiny_config(path, data_root, syn_roots, work_dir):
    cfg = Config.fromfile(path)
    syn_root = syn_roots['loveda' if 'loveda' in osp.basename(path)
                         else 'isprs']
    model_name = osp.basename(path).split('_')[0]
    cfg.merge_from_dict(dict(
        model=TINY_MODELS[model_name], work_dir=work_dir,
        train_cfg=dict(max_iters=2, val_interval=2),
        default_hooks=dict(logger=dict(interval=1),
                           checkpoint=dict(interval=2)),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        # seeds weights, data order and the sampler (whose own seed is None)
        randomness=dict(seed=0)))
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
        if is_syn and ds.get('synthesis'):  # the fixture set is prebuilt
            ds.synthesis.update(num=NUM_SYN, config=osp.join(
                ROOT, ds.synthesis.config))
    cfg.val_dataloader.dataset.data_root = data_root
    cfg.test_dataloader.dataset.data_root = data_root
    shrink_pipelines(cfg._cfg_dict)
    return cfg


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    # patches 3 and 5 of the 6 hold car / clutter (for the oversamplers)
    real = make_seg_dataset(str(root / 'real'), num_train=NUM_REAL,
                            num_val=2, size=SIZE)
    syn = dict(isprs=str(root / 'syn'), loveda=str(root / 'syn_loveda'))
    make_synth_set(syn['isprs'], num=NUM_SYN, size=SIZE)

    def as_loveda(records):  # the same label maps, named for 7 classes
        for record in records:
            for key in ('target_shares', 'measured_shares'):
                values = list(record[key].values()) + [0.0]
                record[key] = dict(zip(LOVEDA_CLASSES, values))
        return records

    make_synth_set(syn['loveda'], num=NUM_SYN, size=SIZE, records=as_loveda)
    return real, syn


@pytest.mark.parametrize('name', ['deeplabv3plus_potsdam_syn40',
                                  'pspnet_potsdam_syn40',
                                  'segformer_potsdam_syn40',
                                  'deeplabv3plus_loveda_syn40'])
def test_config_trains_and_validates(name, data, tmp_path):
    cfg = tiny_config(osp.join(ROOT, 'configs', name + '.py'), *data,
                      str(tmp_path / 'work'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    sampler = runner.train_dataloader.sampler
    synthetic = runner.train_dataloader.dataset.datasets[1]
    assert synthetic.synthesis_result == dict(generated=0,
                                              complete=True)  # reused
    assert type(sampler).__name__ == 'InfiniteMixedRatioSampler'
    assert sampler.seed == 0 and sampler.num_extra == round(0.4 * NUM_REAL)
    metrics = runner.val_loop.run()
    # IoU is defined for every class present in a label or a prediction,
    # so mIoU is; F1 is 0/0 for a class the tiny model never predicts that
    # is absent from the labels: mFscore is the mean over defined classes
    assert np.isfinite(metrics['mIoU']) and np.isfinite(metrics['mCPE'])
    for kind in ('IoU', 'Fscore'):
        values = np.array([metrics[f'{kind}.{c}'] for c in
                           classes_of(name)])
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', RuntimeWarning)  # all-NaN mean
            expected = np.nanmean(values)
        # per-class values are rounded to 0.01 before this mean
        np.testing.assert_allclose(metrics[f'm{kind}'], expected, atol=0.011)
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_2.pth'))


@pytest.mark.parametrize('path', sorted(
    glob.glob(osp.join(ROOT, 'configs', '*.py'))))
def test_every_config_builds_its_pieces(path, data, tmp_path):
    """Each config's model, datasets, sampler, hooks and metrics build from
    the config (model shrunk, data roots on the fixtures) and fit together:
    one validation batch goes through the model."""
    cfg = tiny_config(path, *data, str(tmp_path / 'work'))
    train_cfg, val_cfg = cfg.train_dataloader.dataset, \
        cfg.val_dataloader.dataset
    for ds in train_cfg.get('datasets', [train_cfg]) + [val_cfg]:
        ds.serialize_data = False  # its gc.collect() is most of a build
    assert 'dldm_mmseg' in cfg.custom_imports.imports
    assert [e['type'] for e in cfg.val_evaluator] == [
        'PerClassIoUMetric', 'ClassProportionMetric']
    assert 'mFscore' in cfg.val_evaluator[0]['iou_metrics']
    metrics = [METRICS.build(e) for e in cfg.val_evaluator]
    hooks = [HOOKS.build(h) for h in cfg.get('custom_hooks', [])]
    train_set = DATASETS.build(train_cfg)
    sampler = DATA_SAMPLERS.build(cfg.train_dataloader.sampler,
                                  default_args=dict(dataset=train_set,
                                                    seed=0))
    name = osp.basename(path)
    if '_syn' in name and not name.endswith('_syn0.py'):
        alpha = int(name.rsplit('_syn', 1)[1][:-3]) / 100
        assert type(sampler).__name__ == 'InfiniteMixedRatioSampler'
        assert sampler.ratio == pytest.approx(alpha)
        assert sampler.num_extra == round(alpha * NUM_REAL)
        real, syn = train_set.datasets
        assert type(syn).__name__ == 'DiffusionSynthDataset'
        assert (len(real), len(syn)) == (NUM_REAL, NUM_SYN)
        assert syn.metainfo['classes'] == real.metainfo['classes']
        assert cfg.train_dataloader.dataset.datasets[1].pipeline == \
            cfg.train_pipeline
        assert syn.synthesis['config'] == osp.join(
            ROOT, 'configs', 'synth', name.split('_')[1] + '.py')
    elif 'oversample' in name and 'loveda' in name:
        assert type(sampler).__name__ == 'InfiniteClassAwareOversampler'
        assert sampler.rare_classes == ['barren', 'water']
        assert len(sampler.pool) > 0
    elif 'oversample' in name:
        assert type(sampler).__name__ == 'InfiniteClassAwareOversampler'
        assert sampler.rare_classes == ['car', 'clutter']
        assert sorted(sampler.pool.tolist()) == [3, 5]
        assert sampler.num_extra == round(0.4 * NUM_REAL)
    else:
        assert type(sampler).__name__ == 'InfiniteSampler'
        assert len(train_set) == NUM_REAL
    assert [type(h).__name__ for h in hooks] == ['LabelRangeHook']
    classes = classes_of(path)
    assert tuple(train_set.metainfo['classes']) == classes
    val_set = DATASETS.build(val_cfg)
    assert len(val_set) == 2
    model = MODELS.build(cfg.model)
    model.eval()
    outputs = model.val_step(pseudo_collate([val_set[0]]))
    assert outputs[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)
    assert outputs[0].seg_logits.data.shape[0] == len(classes)
    for metric in metrics:
        metric.dataset_meta = val_set.metainfo
        metric.process([], [o.to_dict() for o in outputs])
    assert metrics[0].results and metrics[1].results


@pytest.mark.parametrize('path', sorted(
    glob.glob(osp.join(ROOT, 'configs', 'generators', '*.py'))))
def test_generator_configs_validate_on_patches_of_every_tile(path):
    """A generator's validation subset is drawn over the val tiles
    (``subset``), not the first ids in sorted order (``indices``), which
    on Potsdam are 144 patches of one tile; and every generator run keeps
    its random states for a resume."""
    cfg = Config.fromfile(path)
    assert 'RandomStateHook' in [h['type'] for h in cfg.custom_hooks]
    if 'val_dataloader' not in cfg:
        return
    dataset = cfg.val_dataloader.dataset
    assert dataset.get('indices') is None
    assert dataset.subset == dict(num=200, seed=0)
    assert cfg.test_dataloader.dataset.subset == dataset.subset


@pytest.mark.parametrize('path', sorted(
    glob.glob(osp.join(ROOT, 'configs', 'generators', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'demo', '**', '*.py'),
              recursive=True)))
def test_generators_and_their_data_name_one_real_set(path):
    """A generator or VAE config's model and datasets draw masks of the same
    real set (what the export hooks check at run time): a child config
    that restated one of them only would train on one set and label with
    another."""
    cfg = Config.fromfile(path)
    model = cfg.get('model', {})
    if model.get('type') not in ('LoRAMaskGenerator',
                                 'ControlNetImageGenerator',
                                 'VAEAutoencoder'):
        return
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if loader in cfg:
            dataset = cfg[loader].dataset
            assert dataset.source_dataset == model.source_dataset, loader
