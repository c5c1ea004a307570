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
from dldm_mmseg.evaluation.logit_calibration import (calibrate,
                                                     prior_shift_bias)
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
    # the written config holds the options the bias was fitted under: the
    # test tool, given no option, scores the fitted mIoU on the val tiles
    metrics = load_tool('test').main([out, checkpoint, '--work-dir',
                                      str(tmp_path / 'test')])
    assert metrics['mIoU'] == pytest.approx(result['miou_after'], abs=0.01)
    plain = load_tool('test').main([CONFIG, checkpoint, '--work-dir',
                                    str(tmp_path / 'plain')] + options(data))
    assert plain['mIoU'] == pytest.approx(result['miou_before'], abs=0.01)
    # calibrating the calibrated config starts from the network's own
    # logits (its bias left out), so it finds the same bias again
    again = load_tool('calibrate_logits').main(
        [out, checkpoint, '--out', str(tmp_path / 'again.py')])
    assert again['miou_before'] == pytest.approx(result['miou_before'])
    assert again['bias'] == pytest.approx(result['bias'])


def test_without_options_the_config_inherits(toy, tmp_path):
    data, checkpoint = toy
    cfg = str(tmp_path / 'toy.py')
    with open(cfg, 'w') as f:  # the toy config on this data, as a user's
        f.write(f"_base_ = [{CONFIG!r}]\n" + ''.join(
            f"{split}_dataloader = dict(dataset=dict(data_root={data!r}))\n"
            for split in ('train', 'val', 'test')))
    out = str(tmp_path / 'out' / 'calibrated.py')
    result = load_tool('calibrate_logits').main([cfg, checkpoint, '--out',
                                                 out])
    text = open(out).read()
    assert "_base_ = ['../toy.py']" in text
    bias = eval(text.split('logit_bias=')[1].rsplit(')', 1)[0])
    assert bias == result['bias']  # every digit


def test_refusals(toy, tmp_path):
    data, checkpoint = toy
    tool = load_tool('calibrate_logits')
    with pytest.raises(SystemExit):
        tool.main([CONFIG, checkpoint, '--out', str(tmp_path / 'x.json')])
    state = torch.load(checkpoint, weights_only=False)
    state['state_dict'].pop('decode_head.conv_seg.weight')
    broken = str(tmp_path / 'broken.pth')
    torch.save(state, broken)
    with pytest.raises(ValueError, match=r'broken.pth does not fit the model'
                       r'.*conv_seg.weight.*the config the checkpoint'):
        tool.main([CONFIG, broken, '--out', str(tmp_path / 'b.py')] +
                  options(data))
    cfg = load_run_config(CONFIG)
    cfg.model.decode_head.out_channels = 1
    with pytest.raises(ValueError, match='one sigmoid channel.*threshold'):
        calibrate(cfg, checkpoint)
    cfg = load_run_config(CONFIG)
    cfg.model.type = 'CascadeEncoderDecoder'
    with pytest.raises(ValueError, match='CascadeEncoderDecoder'):
        calibrate(cfg, checkpoint)


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
    # the real pass: every one of the 5 tiles, once (flips keep counts)
    every = sum(class_counts(label, 6) for label in labels)
    assert result['real_counts'] == every.tolist()
    assert result['bias'] == pytest.approx(prior_shift_bias(
        result['stream_counts'], result['real_counts']))
