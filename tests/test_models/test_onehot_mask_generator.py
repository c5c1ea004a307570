"""Stage 1 over a one-hot mask VAE: one channel per class plus ignore is
what the VAE encodes, the x0 losses read, and sampling quantises by argmax,
so no colour blend can turn into a third class."""
import numpy as np
import pytest
import torch

from mmseg.registry import MODELS
from dldm_mmseg.utils.mask_encoding import onehot_pixels
from dldm_mmseg.utils.palette import index_to_rgb
from fixtures import POTSDAM_PALETTE

ONEHOT = dict(preset='tiny', vae_channels=7)  # 6 Potsdam classes + ignore


def build(components=ONEHOT, **kwargs):
    return MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=4,
                             source_dataset='PotsdamDataset',
                             components=components, **kwargs))


@pytest.fixture(scope='module')
def model():
    return build()


def labels():
    label = np.zeros((2, 16, 16), np.int64)
    label[:, 8:] = 1
    label[1, :4, :4] = 255  # ignore
    return torch.from_numpy(label)


def test_the_vae_encodes_the_labels_one_channel_per_class(model):
    assert model.pixel_encoding == 'onehot'
    assert build(components=dict(preset='tiny')).pixel_encoding == 'rgb'
    label = labels()
    rgb = torch.from_numpy(index_to_rgb(label.numpy(), POTSDAM_PALETTE))
    mask = rgb.permute(0, 3, 1, 2).float() / 127.5 - 1
    seen = []
    original = model.vae.encode

    def spy(pixels, *args, **kwargs):
        seen.append(pixels.clone())
        return original(pixels, *args, **kwargs)

    model.vae.encode = spy
    try:
        losses = model.loss(mask=mask, label=label,
                            prompt=['building: 50%, impervious surface: 50%']
                            * 2, target_shares=torch.tensor(
                                [[.5, .5, 0, 0, 0, 0]] * 2))
    finally:
        model.vae.encode = original
    assert torch.equal(seen[0], onehot_pixels(label, 6))
    assert seen[0][1, 6, 0, 0] == 1   # ignore has the last channel
    assert all(torch.isfinite(v) for v in losses.values())


def test_x0_losses_read_the_channels(model):
    label = labels()
    target = torch.tensor([[.5, .5, 0, 0, 0, 0]] * 2)
    right = onehot_pixels(label, 6)
    wrong = onehot_pixels(torch.full_like(label, 4), 6)  # all car
    ce_right, prop_right = model.x0_mask_losses(right, label, target)
    ce_wrong, prop_wrong = model.x0_mask_losses(wrong, label, target)
    assert (ce_right < 0.2).all() and (ce_wrong > 3).all()
    assert (prop_right < 0.2).all() and (prop_wrong > 1.5).all()


def test_sampling_quantises_by_argmax_and_shows_the_palette(model):
    out = model.generate_masks(['building: 50%, tree: 50%'] * 2, [1, 2],
                               height=16, width=16, steps=2)
    assert out['labels'].shape == (2, 16, 16)
    assert set(np.unique(out['labels'])) <= set(range(6)) | {255}
    assert np.array_equal(out['rgb'],
                          index_to_rgb(out['labels'], POTSDAM_PALETTE))
    # the quantiser is the argmax of the decoded channels
    pixels = torch.zeros(1, 2, 2, 7, dtype=torch.uint8)
    pixels[0, 0, 0, 3] = pixels[0, 0, 1, 6] = 200
    pixels[0, 1, :, 1] = 90
    assert model.quantise(pixels).tolist() == [[[3, 255], [1, 1]]]
    guided = model.generate_masks(['building: 50%, tree: 50%'], [1],
                                  height=16, width=16, steps=2,
                                  prop_guidance=dict(scale=5.0,
                                                     max_timestep=1000))
    assert guided['labels'].shape == (1, 16, 16)


def test_rgb_only_options_are_clear_errors():
    with pytest.raises(ValueError, match='argmax'):
        build(quantisation=dict(type='neighbourhood'))
    with pytest.raises(ValueError, match='calibrated'):
        build(prop_estimator='calibrated')
    with pytest.raises(ValueError, match='RGB'):
        MODELS.build(dict(type='ControlNetImageGenerator',
                          source_dataset='PotsdamDataset', components=ONEHOT))
    with pytest.raises(ValueError, match='neither RGB'):
        build(components=dict(preset='tiny', vae_channels=5))


def test_onehot_is_refused_for_two_classes_only():
    from dldm_mmseg.utils.mask_encoding import (check_onehot_classes,
                                                onehot_allowed)
    assert not onehot_allowed(2)
    assert onehot_allowed(3) and onehot_allowed(6)
    with pytest.raises(ValueError, match='keep RGB masks for 2 classes'):
        check_onehot_classes(2, 'my option')
    check_onehot_classes(6, 'my option')  # allowed: no error
