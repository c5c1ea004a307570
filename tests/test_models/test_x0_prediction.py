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
