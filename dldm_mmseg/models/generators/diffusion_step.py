"""The diffusion maths of a training step: noising, the network's target,
the implied clean latents x0, which samples decode x0 for the x0-space
losses (and at what weight), and the (Min-SNR weighted) MSE."""
from typing import Optional

import torch
import torch.nn.functional as F


class DiffusionStepMixin:
    """For a :class:`DiffusionGenerator` (its ``noise_scheduler``,
    ``decode_latents``, ``x0_weighting``, ``x0_max_timestep``, ``x0_clip``,
    ``gradient_checkpointing`` and ``snr_gamma``)."""

    def add_noise(self, latents: torch.Tensor):
        """Random timesteps and noise; returns ``(noisy, noise, t)``."""
        # randn_like would follow the latents' memory layout (the VAE's
        # output is channels-last on CPU), so the same seed would give other
        # noise for a cached latent; draw in the logical layout instead
        noise = torch.randn(latents.shape, dtype=latents.dtype,
                            device=latents.device)
        t = torch.randint(0, self.noise_scheduler.config.num_train_timesteps,
                          (latents.shape[0],), device=latents.device).long()
        return self.noise_scheduler.add_noise(latents, noise, t), noise, t

    def diffusion_target(self, latents, noise, t) -> torch.Tensor:
        kind = self.noise_scheduler.config.prediction_type
        if kind == 'epsilon':
            return noise
        if kind == 'v_prediction':
            return self.noise_scheduler.get_velocity(latents, noise, t)
        raise ValueError(f'unsupported prediction_type {kind!r}')

    def _alphas_cumprod(self, t, like: torch.Tensor) -> torch.Tensor:
        ab = self.noise_scheduler.alphas_cumprod.to(like.device)[t]
        return ab.float().view(-1, *([1] * (like.dim() - 1)))

    def predict_x0(self, noisy, model_output, t) -> torch.Tensor:
        """The clean latents implied by the network output at ``t``."""
        ab = self._alphas_cumprod(t, noisy)
        noisy, model_output = noisy.float(), model_output.float()
        kind = self.noise_scheduler.config.prediction_type
        if kind == 'epsilon':
            x0 = (noisy - (1 - ab).sqrt() * model_output) / ab.sqrt()
        else:
            x0 = ab.sqrt() * noisy - (1 - ab).sqrt() * model_output
        if self.x0_clip is not None:
            x0 = x0.clamp(-self.x0_clip, self.x0_clip)
        return x0

    def x0_weights(self, t: torch.Tensor, max_timestep='default'
                   ) -> torch.Tensor:
        """Per-sample weights of x0-space losses (sum not normalised), zero
        from ``max_timestep`` on (defaults to ``x0_max_timestep``; None
        keeps every timestep)."""
        if max_timestep == 'default':
            max_timestep = self.x0_max_timestep
        weights = torch.ones(t.shape[0], device=t.device)
        if self.x0_weighting == 'alphas_cumprod':
            weights = self.noise_scheduler.alphas_cumprod.to(t.device)[t]
        if max_timestep is not None:
            weights = weights * (t < max_timestep)
        return weights.float()

    def decode_weighted_x0(self, noisy, pred, t, weights):
        """Decode the x0 prediction of the samples whose x0-loss weight is
        not zero (the VAE decoder and its backward pass are the dearest
        part of a step, and ``x0_max_timestep`` zeroes most of a batch).

        Returns:
            tuple: ``(keep, pixels)``: a boolean mask over the batch and the
            decoded pixels of the kept samples, or None when none is kept.
        """
        keep = weights > 0
        if not keep.any():
            return keep, None
        x0 = self.predict_x0(noisy[keep], pred[keep], t[keep])
        if not (self.gradient_checkpointing and torch.is_grad_enabled()):
            return keep, self.decode_latents(x0)
        # One sample at a time under activation checkpointing: the backward
        # pass recomputes each decode alone, so the decoder's activations
        # (the largest of a 512 px step: tens of GB at batch 16) are held
        # for one sample instead of the whole batch.
        from torch.utils.checkpoint import checkpoint
        return keep, torch.cat([
            checkpoint(self.decode_latents, x0[i:i + 1], use_reentrant=False)
            for i in range(x0.shape[0])])

    def diffusion_loss(self, pred, latents, noise, t,
                       pixel_weights: Optional[torch.Tensor] = None
                       ) -> torch.Tensor:
        """MSE to the scheduler's target, Min-SNR weighted per sample
        with ``snr_gamma``, each latent pixel's squared error weighted by
        ``pixel_weights`` (``N x h x w``) when given."""
        target = self.diffusion_target(latents, noise, t)
        if self.snr_gamma is None and pixel_weights is None:
            return self.mse(pred, target)
        squared = F.mse_loss(pred.float(), target.float(), reduction='none')
        if pixel_weights is not None:
            squared = squared * pixel_weights[:, None].to(squared)
        per_sample = squared.flatten(1).mean(1)
        if self.snr_gamma is None:
            return per_sample.mean()
        from diffusers.training_utils import compute_snr
        snr = compute_snr(self.noise_scheduler, t).float()
        weight = snr.clamp(max=self.snr_gamma) / (
            snr + 1 if self.noise_scheduler.config.prediction_type ==
            'v_prediction' else snr)
        return (weight * per_sample).mean()

    @staticmethod
    def mse(pred, target) -> torch.Tensor:
        return F.mse_loss(pred.float(), target.float())
