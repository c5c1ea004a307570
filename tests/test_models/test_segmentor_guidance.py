"""Segmentor guidance of stage 2: the first sampling steps move each image
toward what a real-only segmentor reads as the condition mask."""
import numpy as np
import pytest
import torch

from dldm_mmseg.evaluation.consistency import (ConsistencyChecker,
                                               differentiable_logits)
from dldm_mmseg.models.generators.guidance import segmentor_loss
from fixtures import make_reference_model
from test_generators import IMAGE_CFG, build, data  # noqa: F401


def colour_segmentor():
    """A fixed segmentor of 6 classes that reads each pixel's colour
    (a 1x1 convolution): differentiable, with a loss an image can lower."""
    weight = torch.Generator().manual_seed(0)
    conv = torch.nn.Conv2d(3, 6, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(6, 3, 1, 1, generator=weight) * 4)
        conv.bias.zero_()
    conv.requires_grad_(False)
    return conv


def test_segmentor_loss_counts_misclassified_pixels_only():
    logits = torch.tensor([[[[5.0, -5.0]], [[-5.0, 5.0]]]])  # 1x2x1x2
    right = torch.tensor([[[0, 1]]])
    assert segmentor_loss(logits, right).item() == 0
    wrong = torch.tensor([[[1, 255]]])  # one wrong pixel of one valid
    assert segmentor_loss(logits, wrong).item() == pytest.approx(10, 1e-3)


def test_guidance_lowers_the_segmentor_loss_of_the_images(
        data):  # noqa: F811
    model, _ = build(IMAGE_CFG, data, zero_convolutions=False)
    segmentor = colour_segmentor()
    masks = np.zeros((2, 32, 32), np.int64)
    masks[0, :, 16:], masks[1, 8:24] = 3, 5
    masks[1, 0, 0] = 255
    prompts, seeds = ['an aerial image'] * 2, [3, 4]
    kwargs = dict(steps=4, guidance_scale=2.0, batch_size=1)
    plain = model.generate_images(masks, prompts, seeds, **kwargs)

    def loss(images):
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
        return segmentor_loss(segmentor(x), torch.from_numpy(masks))

    off = model.generate_images(masks, prompts, seeds, seg_guidance=dict(
        segmentor=segmentor, scale=0.0), **kwargs)
    assert np.array_equal(plain, off)
    # no sampling step in the guided range: nothing changes
    late = model.generate_images(masks, prompts, seeds, seg_guidance=dict(
        segmentor=segmentor, scale=5.0, timesteps=(1001, 2000)), **kwargs)
    assert np.array_equal(plain, late)
    guided = model.generate_images(masks, prompts, seeds, seg_guidance=dict(
        segmentor=segmentor, scale=5.0, timesteps=(0, 1000)), **kwargs)
    assert (loss(guided) < loss(plain)).all(), (loss(plain), loss(guided))
    # the UNet is itself again afterwards
    assert np.array_equal(plain, model.generate_images(masks, prompts,
                                                       seeds, **kwargs))
    # without classifier-free guidance (one copy per sample) and with a
    # last batch smaller than the others
    three = np.concatenate([masks, masks[:1]])
    kwargs = dict(steps=4, guidance_scale=1.0, batch_size=2)
    plain = model.generate_images(three, prompts + ['x'], seeds + [5],
                                  **kwargs)
    guided = model.generate_images(three, prompts + ['x'], seeds + [5],
                                   seg_guidance=dict(segmentor=segmentor,
                                                     scale=5.0), **kwargs)
    masks = three
    assert (loss(guided) < loss(plain)).all(), (loss(plain), loss(guided))
    with pytest.raises(ValueError, match='class indices'):
        model.generate_images(np.zeros((1, 32, 32, 3), np.uint8), ['x'],
                              [1], seg_guidance=dict(segmentor=segmentor,
                                                     scale=1.0), steps=1)
    with pytest.raises(ValueError, match='0 <= low <= high'):
        model.generate_images(masks[:1], ['x'], [1], seg_guidance=dict(
            segmentor=segmentor, scale=1.0, timesteps=(900, 100)), steps=1)


def test_differentiable_logits_are_those_of_mmseg_inference(tmp_path):
    config, checkpoint = make_reference_model(str(tmp_path))
    checker = ConsistencyChecker(config, checkpoint, device='cpu')
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8)
    expected = checker.probabilities([image])
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    x.requires_grad_(True)
    logits = differentiable_logits(checker.model)(x)
    assert np.allclose(logits.softmax(1).detach().numpy(), expected,
                       atol=1e-4)
    logits.sum().backward()  # a gradient reaches the image
    assert x.grad.abs().sum() > 0
    # closer by far than the same image in BGR (a random model's outputs
    # are nearly uniform, so the distances are compared, not a tolerance)
    flipped = differentiable_logits(checker.model)(x.detach().flip(1))

    def distance(out):
        return np.abs(out.log_softmax(1).detach().numpy() -
                      np.log(expected)).max()

    assert distance(logits) * 100 < distance(flipped)
