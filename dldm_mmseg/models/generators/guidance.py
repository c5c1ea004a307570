"""Guidance of a generator's sampling by a differentiable loss of the
decoded x0 (classifier-guidance style): proportion guidance for stage 1
(L_prop against the prompt's target shares) and segmentor guidance for
stage 2 (a real-only segmentor's cross-entropy against the condition
mask)."""
import contextlib
from typing import Callable, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from dldm_mmseg.utils.prompts import parse_class_shares, share_part

#: the factor guidance losses are scaled by before their backward pass
LOSS_SCALE = 2.0 ** 16
#: the timesteps segmentor guidance steers by default: the first steps
SEG_GUIDANCE_TIMESTEPS = (600, 1000)


def guidance_timesteps(timesteps: Sequence[int],
                       where: str = 'guidance timesteps') -> Tuple[int, int]:
    """``(low, high)`` of a guided timestep range, both ends included.

    Raises:
        ValueError: Unless ``0 <= low <= high``, naming ``where``.
    """
    try:
        lo, hi = (int(t) for t in timesteps)
    except (TypeError, ValueError):
        raise ValueError(f'{where} must be (low, high): two integers, got '
                         f'{timesteps!r}') from None
    if not 0 <= lo <= hi:
        raise ValueError(f'{where} must be (low, high) with 0 <= low <= '
                         f'high, got {tuple(timesteps)}')
    return lo, hi


def prompt_targets(prompts: Sequence[str], classes: Sequence[str]
                   ) -> torch.Tensor:
    """``N x C`` shares stated in the prompts' share text (NaN rows for
    prompts without shares: those samples are not guided)."""
    rows = []
    for prompt in prompts:
        part = share_part(prompt)
        rows.append(parse_class_shares(part, classes, require_total=False)
                    if part else np.full(len(classes), np.nan))
    return torch.as_tensor(np.stack(rows), dtype=torch.float32)


def guidance_loss(logits: torch.Tensor, targets: torch.Tensor
                  ) -> torch.Tensor:
    """Per-sample L_prop of decoded masks against target shares.

    Args:
        logits (torch.Tensor): ``N x (C + 1) x H x W`` class logits of the
            decoded masks, ignore last.
        targets (torch.Tensor): ``N x C`` target shares; NaN rows have no
            target.

    Returns:
        torch.Tensor: ``N`` values: the L1 distance between the
        straight-through hard shares and the target (0 for rows without a
        target).
    """
    num = logits.shape[1] - 1
    probs = logits.softmax(1)[:, :num]
    hard = F.one_hot(logits.argmax(1), num + 1).permute(
        0, 3, 1, 2)[:, :num].to(probs.dtype)
    shares = (hard + probs - probs.detach()).flatten(2).mean(2)
    error = (shares - targets.nan_to_num(0)).abs().sum(1)
    return torch.where(targets.isnan().any(1), error * 0, error)


def segmentor_loss(logits: torch.Tensor, labels: torch.Tensor
                   ) -> torch.Tensor:
    """Per-sample cross-entropy of a segmentor's ``logits`` (``N x C x H x
    W``) against ``labels`` (``N x H x W``, 255 = ignore) on the pixels it
    misclassifies, summed there and divided by the valid pixels: pixels
    already drawn as their class pull no further."""
    labels = labels.long()
    valid = labels != 255
    wrong = valid & (logits.argmax(1) != labels)
    ce = F.cross_entropy(logits.float(), labels, ignore_index=255,
                         reduction='none')
    return (ce * wrong).flatten(1).sum(1) / valid.flatten(1).sum(
        1).clamp_min(1)


@contextlib.contextmanager
def x0_guidance(unet: nn.Module, predict_x0: Callable,
                alphas_cumprod: Callable, prediction_type: str,
                loss_of: Callable, scale: float,
                timesteps: Tuple[int, int] = (0, 1000)):
    """Guide sampling by a loss of the predicted x0.

    While active, ``unet``'s output at timesteps ``t`` with ``timesteps[0]
    <= t <= timesteps[1]`` is changed so that the x0 it implies moves by
    ``-scale * dL/dx0`` (the gradient times the number of latent pixels, so
    that a loss that is a mean over pixels is guided alike at every
    resolution; a non-finite gradient moves nothing). The UNet's Jacobian
    is not back-propagated, so every
    scheduler sees an ordinary model output; under classifier-free guidance
    the gradient of the conditional x0 moves both halves alike, so the
    combined output moves by it.

    Args:
        unet (nn.Module): The UNet whose ``forward`` is guided.
        predict_x0 (callable): ``(x_t, model output, t) -> x0`` latents.
        alphas_cumprod (callable): ``(t, like) -> alpha_bar`` broadcast to
            ``like``.
        prediction_type (str): The scheduler's, ``'epsilon'`` or
            ``'v_prediction'``.
        loss_of (callable): ``(x0 latents, part) -> N`` per-sample losses
            (differentiable), ``part`` the slice of the samples in the
            batch.
        scale (float): Guidance strength.
        timesteps (tuple): The range of guided timesteps, both ends
            included.

    Yields:
        callable: Give it each batch's slice of the samples (``on_batch``
        of the generator's ``sample``).
    """
    timesteps = guidance_timesteps(timesteps)
    if prediction_type not in ('epsilon', 'v_prediction'):
        raise ValueError(f'x0 guidance supports epsilon and v_prediction '
                         f'models, not {prediction_type!r}')
    original = unet.forward
    current = {}

    def aim(part):
        current['part'] = part

    def guided(sample, timestep, *args, **kwargs):
        out = original(sample, timestep, *args, **kwargs)
        t = int(torch.as_tensor(timestep).flatten()[0])
        if not timesteps[0] <= t <= timesteps[1]:
            return out
        pred = out[0] if isinstance(out, tuple) else out.sample
        part = current['part']
        num = part.stop - part.start
        # under classifier-free guidance the UNet sees [unconditional,
        # conditional] copies of each sample: the conditional half's
        # gradient moves both alike (so the combined output moves by it
        # too), one decode per sample instead of one per copy
        copies = sample.shape[0] // num
        rows = slice(sample.shape[0] - num, None)
        steps = torch.full((num,), t, device=sample.device)
        with torch.enable_grad():
            x0 = predict_x0(sample[rows].float(), pred[rows].float(), steps)
            x0 = x0.detach().requires_grad_(True)
            # scaled by a power of two (exact in fp32) so that the gradient
            # of a mean over many pixels survives a half-precision decoder
            grad, = torch.autograd.grad(
                loss_of(x0, part).sum() * LOSS_SCALE, x0)
        grad = torch.nan_to_num(grad / LOSS_SCALE, nan=0.0, posinf=0.0,
                                neginf=0.0) * x0[0, 0].numel()
        ab = alphas_cumprod(steps, x0)
        alpha, sigma = ab.sqrt(), (1 - ab).sqrt()
        if prediction_type == 'epsilon':
            change = alpha / sigma * scale * grad  # x0 = (x - s e) / a
        else:  # v_prediction: x0 = a x - s v
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
