"""The x0-space losses of stage 1: pixel-wise CE and L_prop of a decoded
mask, from its class logits."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

PROP_ESTIMATORS = ('soft', 'straight_through', 'calibrated')


def mask_ce_and_prop(logits: torch.Tensor, label: torch.Tensor,
                     target_shares: torch.Tensor, prop_loss: nn.Module,
                     estimator: str = 'soft',
                     calibration: Optional[torch.Tensor] = None,
                     class_weight: Optional[torch.Tensor] = None):
    """Per-sample CE and L_prop of decoded masks.

    The ignore class has a logit column of its own (last), so a pixel drawn
    as ignore where the label has a class is an error of CE and takes share
    from L_prop. CE is the log-softmax cross-entropy over the valid pixels.
    L_prop compares the class shares with the target shares: with
    ``'soft'`` the mean softmax probabilities (the paper's); with
    ``'straight_through'`` its value uses the hard shares (each pixel's
    most likely class, what synthesis measures) and its gradient the soft
    ones; with ``'calibrated'`` the soft shares against ``target_shares @
    calibration`` (the soft shares a perfectly drawn mask has).

    Args:
        logits (torch.Tensor): ``N x (C + 1) x H x W`` class logits.
        label (torch.Tensor): ``N x H x W`` class indices, 255 = ignore.
        target_shares (torch.Tensor): ``N x C`` shares of the prompts.
        prop_loss (nn.Module): A :class:`ProportionAwareLoss` with
            ``reduction='none'``.
        estimator (str): One of :data:`PROP_ESTIMATORS`.
        calibration (torch.Tensor, optional): ``C x C``, for
            ``'calibrated'``.
        class_weight (torch.Tensor, optional): ``C`` weights of the CE
            per label class; a sample's CE is then the weighted mean over
            its valid pixels. Defaults to equal weights.

    Returns:
        tuple: ``(ce, prop)``, each ``N`` values.
    """
    num_classes = logits.shape[1] - 1
    log_probs = logits.log_softmax(1)
    # each valid pixel's weight in its sample's mean (1 unweighted); the
    # loss of an ignore pixel is 0
    valid = (label != 255).float()
    weight = None
    if class_weight is not None:  # the ignore column is never a label
        weight = torch.cat([class_weight.to(log_probs),
                            class_weight.new_ones(1).to(log_probs)])
        valid = valid * weight[torch.where(label == 255, num_classes,
                                           label)]
    ce = F.nll_loss(log_probs, label, weight=weight, ignore_index=255,
                    reduction='none')
    ce = ce.flatten(1).sum(1) / valid.flatten(1).sum(1).clamp_min(1e-12)
    probs = log_probs.exp()[:, :num_classes]
    if estimator == 'straight_through':
        hard = F.one_hot(logits.argmax(1), num_classes + 1).permute(
            0, 3, 1, 2)[:, :num_classes].to(probs.dtype)
        probs = hard + probs - probs.detach()
    elif estimator == 'calibrated':
        target_shares = target_shares.to(probs) @ calibration.to(probs)
    prop = prop_loss(probs, label, target_shares=target_shares,
                     pred_is_prob=True)
    return ce, prop
