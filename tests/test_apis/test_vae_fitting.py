"""The VAE fitting helpers behind tools/fit_vae.py."""
import pytest
import torch

from dldm_mmseg.apis import vae_fitting as fit


def test_class_balanced_weights_favour_rare_classes_and_average_one():
    labels = torch.zeros(2, 10, 10, dtype=torch.long)
    labels[0, :1, :1] = 4  # 1 pixel of a rare class out of 200
    labels[1, :2] = 255  # ignore
    weights = fit.class_balanced_weights(labels, 6, 0.5)
    valid = labels != 255
    assert weights[valid].mean().item() == pytest.approx(1.0)
    assert (weights[~valid] == 1).all()
    # freq ** -0.5: 1/179 vs 179/180 of the valid pixels
    ratio = weights[0, 0, 0] / weights[0, 5, 5]
    assert ratio.item() == pytest.approx(179 ** 0.5, rel=1e-4)
    assert (fit.class_balanced_weights(labels, 6, 0) == 1).all()


def test_random_crop_cuts_mask_image_and_label_alike():
    label = torch.arange(64).reshape(1, 8, 8) % 6
    mask = label[:, None].repeat(1, 3, 1, 1).float()
    image = -mask
    torch.manual_seed(0)
    crops = [fit.random_crop(dict(mask=mask, image=image, label=label), 4)
             for _ in range(8)]
    assert {tuple(c['label'].shape) for c in crops} == {(1, 4, 4)}
    for c in crops:
        assert torch.equal(c['mask'][:, 0], c['label'].float())
        assert torch.equal(c['image'], -c['mask'])
    assert len({c['label'].flatten().tolist().__str__() for c in crops}) > 1
    with pytest.raises(ValueError, match='crop_size 9 is larger'):
        fit.random_crop(dict(mask=mask, image=image, label=label), 9)


def test_content_pixels_picks_masks_images_or_both():
    batch = dict(mask=torch.zeros(2, 3, 4, 4), image=torch.ones(2, 3, 4, 4))
    assert torch.equal(fit.content_pixels(batch, 'masks'), batch['mask'])
    assert torch.equal(fit.content_pixels(batch, 'images'), batch['image'])
    both = fit.content_pixels(batch, 'both')
    assert torch.equal(both, torch.cat([batch['mask'], batch['image']]))

