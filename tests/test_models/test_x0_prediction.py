"""x0 from the network output, per prediction type (tiny preset, CPU).

The x0-space losses decode ``predict_x0``; with a wrong formula training
still runs and only the losses are silently off, so the formula is checked
against the scheduler's own forward process: noise known latents, hand the
true target back as the "model output", and the latents must come back.
"""
import pytest
import torch

from mmseg.registry import MODELS


@pytest.fixture(scope='module')
def epsilon_model():
    """The mask generator as configured by default (SD 1.5: epsilon)."""
    return MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=4,
                             source_dataset='PotsdamDataset',
                             components=dict(preset='tiny'),
                             frozen_dtype=None))


def test_epsilon_prediction_round_trip(epsilon_model):
    model = epsilon_model
    scheduler = model.noise_scheduler
    assert scheduler.config.prediction_type == 'epsilon'
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(4, 4, 8, 8, generator=generator)
    noise = torch.randn(latents.shape, generator=generator)
    # low, middle and high noise (alpha_bar from ~1 down to ~0.005)
    t = torch.tensor([0, 10, 500, 999])
    noisy = scheduler.add_noise(latents, noise, t)
    target = model.diffusion_target(latents, noise, t)
    assert torch.equal(target, noise)
    x0 = model.predict_x0(noisy, target, t)
    assert x0.shape == latents.shape and x0.dtype == torch.float32
    # 1 / sqrt(alpha_bar) ~ 15 at t = 999 scales the float error of noisy
    assert torch.allclose(x0, latents, atol=1e-4, rtol=1e-4)
    # one sample at a time gives the same, so t is applied per sample
    for i in range(len(t)):
        assert torch.allclose(
            model.predict_x0(noisy[i:i + 1], noise[i:i + 1], t[i:i + 1]),
            x0[i:i + 1], atol=1e-6)


def test_min_snr_weighting_of_the_diffusion_loss(epsilon_model):
    model = epsilon_model
    torch.manual_seed(0)
    latents, noise = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    pred = noise + torch.randn(2, 4, 8, 8) * torch.tensor([0.1, 1.0]).view(
        2, 1, 1, 1)
    t = torch.tensor([10, 900])
    plain = model.diffusion_loss(pred, latents, noise, t)
    assert plain == pytest.approx(((pred - noise) ** 2).mean().item())
    model.snr_gamma = 5.0
    try:
        weighted = model.diffusion_loss(pred, latents, noise, t)
    finally:
        model.snr_gamma = None
    ab = model.noise_scheduler.alphas_cumprod[t].double()
    snr = ab / (1 - ab)
    weight = snr.clamp(max=5) / snr  # < 1 at t=10 (SNR >> 5), 1 at t=900
    assert weight[0] < 0.1 and weight[1] == 1
    per_sample = ((pred - noise) ** 2).flatten(1).mean(1).double()
    assert weighted.item() == pytest.approx((weight * per_sample).mean()
                                            .item(), rel=1e-5)
    with pytest.raises(ValueError, match='snr_gamma must be > 0'):
        MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=4,
                          source_dataset='PotsdamDataset',
                          components=dict(preset='tiny'), snr_gamma=0))


def test_min_snr_weighting_with_v_prediction():
    """v-prediction (the demo's setting) weighs by min(SNR, gamma) /
    (SNR + 1), the epsilon weight moved to v space; the target is
    v = sqrt(ab) * noise - sqrt(1 - ab) * latents."""
    model = MODELS.build(dict(
        type='LoRAMaskGenerator', lora_rank=4,
        source_dataset='PotsdamDataset', frozen_dtype=None,
        components=dict(preset='tiny', prediction_type='v_prediction')))
    assert model.noise_scheduler.config.prediction_type == 'v_prediction'
    torch.manual_seed(0)
    latents, noise = torch.randn(3, 4, 8, 8), torch.randn(3, 4, 8, 8)
    t = torch.tensor([10, 300, 900])
    ab = model.noise_scheduler.alphas_cumprod[t].double().view(3, 1, 1, 1)
    v = (ab.sqrt() * noise - (1 - ab).sqrt() * latents).float()
    pred = v + torch.randn(3, 4, 8, 8) * 0.5
    assert model.diffusion_loss(pred, latents, noise, t).item() == \
        pytest.approx(((pred - v) ** 2).mean().item(), rel=1e-5)
    model.snr_gamma = 5.0
    weighted = model.diffusion_loss(pred, latents, noise, t)
    snr = (ab / (1 - ab)).flatten()
    weight = snr.clamp(max=5) / (snr + 1)
    # SNR >> 5 at t=10: 5 / (SNR + 1) << 1; at t=900 SNR / (SNR + 1) < 1
    assert weight[0] < 0.1 and 0 < weight[2] < 1
    per_sample = ((pred - v) ** 2).flatten(1).mean(1).double()
    assert weighted.item() == pytest.approx(
        (weight * per_sample).mean().item(), rel=1e-5)
    # the epsilon weight (divided by SNR, not SNR + 1) would differ
    wrong = (snr.clamp(max=5) / snr * per_sample).mean().item()
    assert abs(weighted.item() - wrong) > 1e-3 * wrong
