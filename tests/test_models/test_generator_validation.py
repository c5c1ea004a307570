"""Generators as complete mmengine models: predict mode, a val loop that
reports mCPE on held-out shares, and tools/test.py on a checkpoint."""
import glob
import json
import os.path as osp

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from mmseg.registry import DATASETS, METRICS, MODELS
from dldm_mmseg.datasets.captioning import write_captions
from dldm_mmseg.utils.label_stats import class_proportion_error, class_shares
from fixtures import POTSDAM_CLASSES, load_tool, make_seg_dataset

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MASK_CFG = osp.join(ROOT, 'configs', 'generators', 'mask_lora_potsdam.py')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = make_seg_dataset(str(tmp_path_factory.mktemp('val') / 'real'),
                            num_train=4, num_val=3, size=32)
    write_captions(root, POTSDAM_CLASSES, True, 'img_dir/train',
                   'ann_dir/train')
    write_captions(root, POTSDAM_CLASSES, True, 'img_dir/val', 'ann_dir/val',
                   out_file='captions_val.jsonl')
    return root


def val_batch(root):
    ds = DATASETS.build(dict(type='MaskCaptionDataset', data_root=root,
                             source_dataset='PotsdamDataset',
                             captions='captions_val.jsonl', augment=False))
    return default_collate([ds[i] for i in range(len(ds))]), ds


def test_predict_returns_masks_scored_against_the_prompt_shares(data):
    model = MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=4,
                              source_dataset='PotsdamDataset',
                              components=dict(preset='tiny'),
                              inference_cfg=dict(steps=2)))
    batch, ds = val_batch(data)
    samples = model.forward(mode='predict', **batch)
    again = model.forward(mode='predict', **batch)
    assert len(samples) == 3
    for a, b in zip(samples, again):  # seeds come from the sample ids
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
    assert samples[0].seed != samples[1].seed
    assert samples[0].pred_sem_seg.data.shape == (1, 32, 32)
    metric = METRICS.build(dict(type='ClassProportionMetric'))
    metric.dataset_meta = ds.metainfo
    metric.process(batch, [s.to_dict() for s in samples])
    result = metric.evaluate(3)
    expected = np.mean([class_proportion_error(
        class_shares(s.pred_sem_seg.data[0].numpy(), 6),
        batch['target_shares'][i].numpy())
        for i, s in enumerate(samples)])
    assert result['mCPE'] == pytest.approx(expected, abs=1e-3)


def test_val_loop_reports_mcpe_and_test_tool_evaluates_a_checkpoint(
        data, tmp_path):
    config = tmp_path / 'mask_tiny_val.py'
    config.write_text(f"""_base_ = [{MASK_CFG!r}]
model = dict(components=dict(_delete_=True, preset='tiny'), lora_rank=4,
             frozen_dtype=None, inference_cfg=dict(steps=2))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root={data!r}))
val_dataloader = dict(batch_size=2, num_workers=0,
                      dataset=dict(data_root={data!r}, indices=None))
test_dataloader = val_dataloader
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3))
train_cfg = dict(max_epochs=1, val_interval=1)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
custom_hooks = []
visualizer = dict(name='visualizer_val_loop')
""")
    work = str(tmp_path / 'work')
    load_tool('train').main([str(config), '--work-dir', work])
    scalars = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    records = [json.loads(line) for line in open(scalars[0])]
    val = [r for r in records if 'mCPE' in r]
    assert len(val) == 1 and 0 <= val[0]['mCPE'] <= 100
    assert 'CPE.car' in val[0]
    metrics = load_tool('test').main([
        str(config), osp.join(work, 'epoch_1.pth'), '--work-dir',
        str(tmp_path / 'test'), '--cfg-options',
        'visualizer.name=visualizer_val_test'])
    # the same weights, patches and seeds give the same mCPE
    assert metrics['mCPE'] == pytest.approx(val[0]['mCPE'], abs=1e-3)


def test_predict_uses_the_ema_weights_that_export_writes(data):
    model = MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=4,
                              source_dataset='PotsdamDataset',
                              components=dict(preset='tiny'), ema_decay=0.5,
                              inference_cfg=dict(steps=2)))
    batch, _ = val_batch(data)
    params = model.trainable_parameters()
    name = next(iter(params))
    with torch.no_grad():
        for key, p in params.items():  # live weights away from the shadow
            p.add_(torch.randn_like(p) * 0.5)
    seen = []
    original = model.predict

    def spy(**kwargs):
        seen.append(params[name].detach().clone())
        return original(**kwargs)

    model.predict = spy
    model.forward(mode='predict', **batch)
    assert torch.equal(seen[0], model.ema.shadow(name))
    assert not torch.equal(params[name], model.ema.shadow(name))  # restored
