"""Stage 2's ``class_balance``: each latent pixel's diffusion loss
weighted by the rarity of the mask's classes under it."""
import pytest
import torch

from test_generators import IMAGE_CFG, batch_of, build, data  # noqa: F401


def test_pixel_weights_scale_the_squared_error_where_they_are(data):
    model, _ = build(IMAGE_CFG, data)
    latents = torch.zeros(2, 4, 4, 4)
    noise = torch.zeros_like(latents)
    t = torch.tensor([10, 10])
    target = model.diffusion_target(latents, noise, t)
    pred = target.clone()
    pred[:, :, :2] += 1.0  # an error on the top half only
    plain = model.diffusion_loss(pred, latents, noise, t)
    weights = torch.ones(2, 4, 4)
    assert model.diffusion_loss(pred, latents, noise, t, weights) == \
        pytest.approx(float(plain))
    weights[:, :2] = 3.0  # the erring half weighs three times
    assert model.diffusion_loss(pred, latents, noise, t, weights) == \
        pytest.approx(3 * float(plain))
    weights = torch.ones(2, 4, 4)
    weights[:, 2:] = 3.0  # the exact half weighs three times
    assert model.diffusion_loss(pred, latents, noise, t, weights) == \
        pytest.approx(float(plain))


def test_pixel_weights_under_min_snr_weighting(data):
    model, _ = build(IMAGE_CFG, data, snr_gamma=5.0)
    assert model.snr_gamma == 5.0  # the Min-SNR branch
    latents = torch.zeros(2, 4, 4, 4)
    noise = torch.zeros_like(latents)
    t = torch.tensor([10, 900])
    pred = model.diffusion_target(latents, noise, t).clone()
    pred[:, :, :2] += 1.0
    plain = float(model.diffusion_loss(pred, latents, noise, t))
    weights = torch.ones(2, 4, 4)
    assert float(model.diffusion_loss(pred, latents, noise, t, weights)) \
        == pytest.approx(plain)
    weights[:, :2] = 3.0
    assert float(model.diffusion_loss(pred, latents, noise, t, weights)) \
        == pytest.approx(3 * plain)


def test_class_balance_weighs_the_rare_class_up_in_the_latent_grid(data):
    model, _ = build(IMAGE_CFG, data, class_balance=0.5)
    labels = torch.zeros(1, 16, 16, dtype=torch.long)
    labels[0, :4, 8:12] = 4  # a sixteenth of the pixels: latent (0, 2)
    weights = model._latent_class_weights(labels, (4, 4))
    assert weights.shape == (1, 4, 4)
    assert weights[0, 0, 2] > 3 * weights[0, 3, 3]
    assert weights[0, 2, 0] == pytest.approx(float(weights[0, 3, 3]))
    assert float(weights.mean()) == pytest.approx(1.0)
    plain, _ = build(IMAGE_CFG, data)
    assert plain._latent_class_weights(labels, (4, 4)) is None
    with pytest.raises(ValueError, match='"label" maps'):
        model._latent_class_weights(None, (4, 4))
    with pytest.raises(ValueError, match='class_balance must be a number '
                       '>= 0.*got -1'):
        build(IMAGE_CFG, data, class_balance=-1)


def test_class_balance_changes_the_training_loss(data):
    batch = batch_of(data, load_image=True, n=2)
    losses = []
    for balance in (0.0, 0.5):
        model, _ = build(IMAGE_CFG, data, class_balance=balance)
        torch.manual_seed(0)
        losses.append(float(model.loss(**batch)['loss_diffusion']))
    assert losses[0] != pytest.approx(losses[1], rel=1e-4)
