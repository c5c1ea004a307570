"""Proportion guidance for stage-1 sampling: move each step's x0 along
the negative gradient of L_prop against the prompt's target shares
(classifier-guidance style; see ``guidance`` in the synthesis config)."""
import contextlib
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from dldm_mmseg.utils.prompts import parse_class_shares, share_part


class ProportionGuidanceMixin:
    """For :class:`LoRAMaskGenerator` (its ``classes``, ``mask_logits``,
    ``unet``, ``predict_x0`` and ``decode_latents``)."""

    def prompt_targets(self, prompts: Sequence[str]) -> torch.Tensor:
        """``N x C`` shares stated in the prompts' share text (NaN rows
        for prompts without shares: those samples are not guided)."""
        rows = []
        for prompt in prompts:
            part = share_part(prompt)
            rows.append(parse_class_shares(
                part, self.classes, require_total=False) if part else
                np.full(len(self.classes), np.nan))
        return torch.as_tensor(np.stack(rows), dtype=torch.float32)

    @contextlib.contextmanager
    def proportion_guidance(self, targets: torch.Tensor, scale: float,
                            max_timestep: int = 400):
        """Guide sampling toward target class shares with L_prop on the
        decoded x0 (classifier guidance with the differentiable piece the
        method trains with).

        While active, the UNet's output at timesteps ``<= max_timestep`` is
        changed so that the x0 it implies moves by ``-scale * dL/dx0``
        (the gradient times the number of latent pixels, as L is a mean
        over pixels),
        where L is the L_prop of the decoded x0 (``mask_logits``,
        straight-through hard shares, summed over classes) against the
        sample's target. The UNet's Jacobian is not back-propagated (one
        VAE decode and its backward per sample and guided step), so every
        scheduler sees an ordinary model output; with classifier-free
        guidance the gradient of the conditional x0 moves both halves
        alike, so the combined output moves by it.

        Yields:
            callable: Give it each batch's slice of ``targets``
            (``on_batch`` of :meth:`sample`).
        """
        unet, original = self.unet, self.unet.forward
        current = {}

        def aim(part):
            current['targets'] = targets[part]

        def guided(sample, timestep, *args, **kwargs):
            out = original(sample, timestep, *args, **kwargs)
            t = int(torch.as_tensor(timestep).flatten()[0])
            if t > max_timestep:
                return out
            pred = out[0] if isinstance(out, tuple) else out.sample
            goal = current['targets'].to(sample.device)
            num = goal.shape[0]
            # under classifier-free guidance the UNet sees [unconditional,
            # conditional] copies of each sample: the conditional half's
            # gradient moves both alike (so the combined output moves by
            # it too), one VAE decode per sample instead of one per copy
            copies = sample.shape[0] // num
            rows = slice(sample.shape[0] - num, None)
            steps = torch.full((num,), t, device=sample.device)
            with torch.enable_grad():
                x0 = self.predict_x0(sample[rows].float(),
                                     pred[rows].float(), steps)
                x0 = x0.detach().requires_grad_(True)
                loss = self.guidance_loss(self.decode_latents(x0), goal)
                grad, = torch.autograd.grad(loss.sum(), x0)
            # shares are pixel means: per latent pixel the gradient shrinks
            # with the area; rescaled so that a scale means the same at
            # every resolution
            grad = grad * x0[0, 0].numel()
            ab = self._alphas_cumprod(steps, x0)
            alpha, sigma = ab.sqrt(), (1 - ab).sqrt()
            if self.noise_scheduler.config.prediction_type == 'epsilon':
                change = alpha / sigma * scale * grad  # x0 = (x - s e) / a
            else:  # v: x0 = a x - s v
                change = scale * grad / sigma
            change = change.repeat(copies, *([1] * (change.dim() - 1)))
            pred = (pred.float() + change).to(pred.dtype)
            if isinstance(out, tuple):
                return (pred,) + tuple(out[1:])
            out.sample = pred
            return out

        unet.forward = guided
        try:
            yield aim
        finally:
            unet.forward = original

    def guidance_loss(self, rgb: torch.Tensor, targets: torch.Tensor
                      ) -> torch.Tensor:
        """Per-sample L_prop of decoded masks against target shares
        (straight-through hard shares, summed over classes; 0 for rows
        without a target)."""
        num = len(self.classes)
        logits = self.mask_logits(rgb)
        probs = logits.softmax(1)[:, :num]
        hard = F.one_hot(logits.argmax(1), num + 1).permute(
            0, 3, 1, 2)[:, :num].to(probs.dtype)
        shares = (hard + probs - probs.detach()).flatten(2).mean(2)
        error = (shares - targets.nan_to_num(0)).abs().sum(1)
        return torch.where(targets.isnan().any(1), error * 0, error)
