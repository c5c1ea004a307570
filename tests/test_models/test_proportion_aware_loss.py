import pytest
import torch

from mmseg.registry import MODELS


def build(**kwargs):
    return MODELS.build(dict(type='ProportionAwareLoss', **kwargs))


def test_value_against_hand_computation():
    # 1 image, 2 classes, 2 pixels; logits chosen so softmax is exact-ish.
    p0 = torch.tensor([0.8, 0.4])  # P(class 0) at pixel 0 and 1
    probs = torch.stack([p0, 1 - p0]).reshape(1, 2, 1, 2)
    label = torch.tensor([[[0, 0]]])
    # p_pred = (0.6, 0.4), p_target = (1, 0) -> mean(|.|) = 0.4
    loss = build(loss_weight=0.5)(probs, label, pred_is_prob=True)
    assert loss.item() == pytest.approx(0.5 * 0.4)


def test_logits_ignore_index_and_batch_mean():
    logits = torch.zeros(2, 3, 2, 2)  # uniform: p_pred = 1/3 each
    label = torch.tensor([[[0, 1], [255, 255]],   # target (.5, .5, 0)
                          [[2, 2], [2, 2]]])      # target (0, 0, 1)
    loss = build()(logits, label, ignore_index=255)
    img0 = (abs(1 / 3 - .5) * 2 + 1 / 3) / 3
    img1 = (1 / 3 + 1 / 3 + 2 / 3) / 3
    assert loss.item() == pytest.approx((img0 + img1) / 2, abs=1e-6)
    # ignored pixels do not count: changing their prediction changes nothing
    logits2 = logits.clone()
    logits2[0, 0, 1, :] = 10.0
    assert build()(logits2, label).item() == pytest.approx(loss.item())


def test_explicit_target_shares_and_gradient():
    logits = torch.randn(2, 4, 8, 8, requires_grad=True)
    shares = torch.tensor([[.25, .25, .25, .25], [1., 0., 0., 0.]])
    loss = build()(logits, target_shares=shares)
    loss.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    # gradient descent on L_prop moves the shares towards the target
    opt = torch.optim.Adam([logits], lr=0.1)
    for _ in range(50):
        opt.zero_grad()
        build()(logits, target_shares=shares).backward()
        opt.step()
    assert build()(logits, target_shares=shares).item() < loss.item() / 4


def test_reduction_none_and_errors():
    logits = torch.zeros(3, 2, 2, 2)
    label = torch.zeros(3, 2, 2, dtype=torch.long)
    assert build(reduction='none')(logits, label).shape == (3,)
    with pytest.raises(ValueError, match='shape'):
        build()(logits, target_shares=torch.ones(3, 5))
    with pytest.raises(ValueError, match='loss_'):
        build(loss_name='prop')
    with pytest.raises(ValueError, match='label map'):
        build()(logits)


def test_in_stock_decode_head_loss_list():
    head = MODELS.build(dict(
        type='FCNHead', in_channels=4, channels=4, num_convs=1,
        num_classes=3, norm_cfg=dict(type='BN'),
        loss_decode=[dict(type='CrossEntropyLoss', loss_weight=1.0),
                     dict(type='ProportionAwareLoss', loss_weight=0.5)]))
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    samples = []
    for _ in range(2):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 8, 8)))
        s.set_metainfo(dict(img_shape=(8, 8), pad_shape=(8, 8)))
        samples.append(s)
    losses = head.loss([torch.randn(2, 4, 8, 8)], samples, None)
    assert {'loss_ce', 'loss_prop'} <= set(losses)
    assert losses['loss_prop'] > 0
