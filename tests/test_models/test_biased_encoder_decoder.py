"""BiasedEncoderDecoder: EncoderDecoder's predictions, plus a bias."""
import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from dldm_mmseg.utils.config import load_run_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'demo', 'deeplabv3plus_toy_syn0.py')


def build(**extra):
    init_default_scope('mmseg')
    cfg = load_run_config(CONFIG).model
    cfg.pop('pretrained', None)
    cfg.update(extra)
    torch.manual_seed(0)
    return MODELS.build(cfg).eval()


def predict(model, image):
    samples = [SegDataSample(metainfo=dict(
        ori_shape=image.shape[-2:], img_shape=image.shape[-2:],
        pad_shape=image.shape[-2:], padding_size=[0, 0, 0, 0]))]
    with torch.no_grad():
        return model.predict(image[None], samples)[0]


def test_bias_shifts_the_logits_and_the_decision():
    plain = build()
    classes = plain.decode_head.out_channels
    image = torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(1))
    expected = predict(plain, image)
    unbiased = build(type='BiasedEncoderDecoder')
    unbiased.load_state_dict(plain.state_dict())  # the same keys
    assert torch.equal(predict(unbiased, image).pred_sem_seg.data,
                       expected.pred_sem_seg.data)
    bias = [0.0] * classes
    bias[2] = 0.75
    biased = build(type='BiasedEncoderDecoder', logit_bias=bias)
    assert set(biased.state_dict()) == set(plain.state_dict())
    biased.load_state_dict(plain.state_dict())
    out = predict(biased, image)
    torch.testing.assert_close(out.seg_logits.data - expected.seg_logits.data,
                               torch.tensor(bias).view(-1, 1, 1).expand(
                                   -1, 32, 32))
    assert torch.equal(out.pred_sem_seg.data,
                       (expected.seg_logits.data + torch.tensor(bias).view(
                           -1, 1, 1)).argmax(0, keepdim=True))
    bias[2] = 1e4
    everything = build(type='BiasedEncoderDecoder', logit_bias=bias)
    everything.load_state_dict(plain.state_dict())
    assert (predict(everything, image).pred_sem_seg.data == 2).all()


def test_one_sigmoid_channel_shifts_the_threshold():
    head = dict(num_classes=2, out_channels=1, threshold=0.5)
    plain = build(decode_head=head, auxiliary_head=None)
    image = torch.randn(3, 32, 32, generator=torch.Generator().manual_seed(2))
    probability = predict(plain, image).seg_logits.data
    # a bias b on the logit: sigmoid(x + b) > 0.5, i.e. x > -b
    logit = torch.logit(probability)
    b = float(-logit.median())
    biased = build(type='BiasedEncoderDecoder', logit_bias=[b],
                   decode_head=head, auxiliary_head=None)
    biased.load_state_dict(plain.state_dict())
    out = predict(biased, image)
    assert torch.equal(out.pred_sem_seg.data.bool(), logit + b > 0)
    assert 0.3 < out.pred_sem_seg.data.float().mean() < 0.7
    assert not torch.equal(out.pred_sem_seg.data,
                           predict(plain, image).pred_sem_seg.data)


@pytest.mark.parametrize('bias', [[0.0], [0.0] * 7, [float('nan')] * 6])
def test_refuses_a_bias_that_does_not_fit(bias):
    with pytest.raises(ValueError, match='one finite value for each of the '
                       "decode head's 6 output channels"):
        build(type='BiasedEncoderDecoder', logit_bias=bias)
