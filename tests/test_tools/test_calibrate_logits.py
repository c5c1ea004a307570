"""tools/calibrate_logits.py: a fitted bias, and a config that uses it."""
import glob
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from PIL import Image

from dldm_mmseg.datasets.toy_landcover import make_toy_landcover
from dldm_mmseg.utils.config import load_run_config
from dldm_mmseg.utils.label_stats import class_counts, to_train_ids
from fixtures import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'demo', 'deeplabv3plus_toy_syn0.py')


def options(data):
    # test on the val tiles, so the test tool scores what was fitted
    return ['--cfg-options'] + [
        f'{split}_dataloader.dataset.data_root={data}'
        for split in ('train', 'val', 'test')] + [
        'test_dataloader.dataset.data_prefix.img_path=img_dir/val',
        'test_dataloader.dataset.data_prefix.seg_map_path=ann_dir/val',
        'train_dataloader.batch_size=2']


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp('calibrate')
    data = str(root / 'toy')
    make_toy_landcover(data, num_train=5, num_val=3, size=32)
    init_default_scope('mmseg')
    model = load_run_config(CONFIG).model
    model.pop('pretrained', None)
    torch.manual_seed(0)
    checkpoint = str(root / 'iter_1.pth')
    torch.save(dict(state_dict=MODELS.build(model).state_dict(), meta={}),
               checkpoint)
    return data, checkpoint


def test_val_fit_and_the_written_config(toy, tmp_path):
    data, checkpoint = toy
    out = str(tmp_path / 'calibrated.py')
    result = load_tool('calibrate_logits').main(
        [CONFIG, checkpoint, '--out', out] + options(data))
    assert result['miou_after'] > result['miou_before']
    assert result['pixels'] == 3 * 32 * 32 - sum(
        (np.array(Image.open(p)) == 0).sum()
        for p in glob.glob(osp.join(data, 'ann_dir', 'val', '*.png')))
    saved = json.load(open(str(tmp_path / 'calibrated.json')))
    assert saved['bias'] == pytest.approx(result['bias'])
    text = open(out).read()
    assert "type='BiasedEncoderDecoder'" in text
    # the test tool, with the written config, scores the fitted mIoU
    metrics = load_tool('test').main([out, checkpoint, '--work-dir',
                                      str(tmp_path / 'test')] + options(data))
    assert metrics['mIoU'] == pytest.approx(result['miou_after'], abs=0.01)
    plain = load_tool('test').main([CONFIG, checkpoint, '--work-dir',
                                    str(tmp_path / 'plain')] + options(data))
    assert plain['mIoU'] == pytest.approx(result['miou_before'], abs=0.01)


def test_prior_counts_the_stream_and_the_real_tiles(toy, tmp_path):
    data, checkpoint = toy
    result = load_tool('calibrate_logits').main(
        [CONFIG, checkpoint, '--mode', 'prior', '--stream-batches', '3',
         '--out', str(tmp_path / 'prior.py')] + options(data))
    labels = [to_train_ids(np.array(Image.open(p)), True) for p in sorted(
        glob.glob(osp.join(data, 'ann_dir', 'train', '*.png')))]
    ignored = [int((label == 255).sum()) for label in labels]
    # 3 batches of 2 tiles, flips only: every drawn pixel counted once
    stream = sum(result['stream_counts'])
    assert 6 * 32 * 32 - max(ignored) * 6 <= stream <= 6 * 32 * 32
    # the real pass: 4 of the 5 tiles (full batches of 2)
    every = sum(class_counts(label, 6) for label in labels)
    assert sum(result['real_counts']) <= every.sum()
    assert sum(result['real_counts']) >= every.sum() - 32 * 32
    # the stream is the real tiles again: shares within a few points
    shares = np.array(result['stream_counts']) / stream
    real = np.array(result['real_counts']) / sum(result['real_counts'])
    assert np.abs(shares - real).max() < 0.15
    assert len(result['bias']) == 6 and sum(result['bias']) == \
        pytest.approx(0, abs=1e-9)
