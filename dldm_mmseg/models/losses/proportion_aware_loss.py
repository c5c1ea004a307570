"""Proportion-aware loss (the paper's L_prop)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


def predicted_class_shares(probs: torch.Tensor,
                           valid: Optional[torch.Tensor] = None
                           ) -> torch.Tensor:
    """Soft class shares of probability maps over valid pixels.

    Args:
        probs (torch.Tensor): ``N x C x H x W`` class probabilities.
        valid (torch.Tensor, optional): ``N x H x W`` pixel weights (1 valid,
            0 ignored, or soft weights). Defaults to all pixels.

    Returns:
        torch.Tensor: ``N x C`` shares; rows sum to 1 where any pixel is
        valid, and are 0 otherwise.
    """
    if valid is None:
        return probs.flatten(2).mean(-1)
    valid = valid.to(probs.dtype).unsqueeze(1)
    mass = (probs * valid).flatten(2).sum(-1)
    return mass / valid.flatten(2).sum(-1).clamp_min(1e-12)


def label_class_shares(label: torch.Tensor, num_classes: int,
                       valid: torch.Tensor) -> torch.Tensor:
    """``N x C`` class shares of an ``N x H x W`` label map over valid
    pixels (weights allowed in ``valid``)."""
    safe = torch.where(valid > 0, label, torch.zeros_like(label)).long()
    one_hot = F.one_hot(safe, num_classes).permute(0, 3, 1, 2)
    return predicted_class_shares(one_hot.to(valid.dtype), valid)


@MODELS.register_module()
class ProportionAwareLoss(nn.Module):
    """L_prop = mean (or sum) over classes of |p_pred,c - p_target,c|, per
    image.

    ``p_pred`` is the share of each class in the prediction, as the mean
    softmax probability over the valid pixels (so the loss is
    differentiable); ``p_target`` is the share in the label map, or shares
    given explicitly (the prompt's shares, for the mask generator). The
    per-image values are averaged over the batch.

    Used in a stock decode head next to cross-entropy::

        loss_decode=[
            dict(type='CrossEntropyLoss', loss_weight=1.0),
            dict(type='ProportionAwareLoss', loss_weight=0.5)]

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        reduction (str): ``'mean'`` or ``'sum'`` over images, or ``'none'``.
            Defaults to ``'mean'``.
        class_weight (list[float], optional): Per-class weights in the class
            mean (normalised to sum to 1). Defaults to uniform.
        ignore_index (int): Label value to skip. Defaults to 255.
        class_reduction (str): ``'mean'`` over classes (the paper's
            ``1/|C| sum_c``) or ``'sum'`` (the L1 distance between the share
            vectors, 0..2, which does not shrink as classes are added).
            Defaults to ``'mean'``.
        loss_name (str): Name in the log; must start with ``loss_``.
            Defaults to ``'loss_prop'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 class_weight: Optional[list] = None,
                 ignore_index: int = 255,
                 class_reduction: str = 'mean',
                 loss_name: str = 'loss_prop') -> None:
        super().__init__()
        if class_reduction not in ('mean', 'sum'):
            raise ValueError(f'class_reduction must be mean or sum, got '
                             f'{class_reduction!r}')
        self.class_reduction = class_reduction
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f'reduction must be none, mean or sum, got '
                             f'{reduction!r}')
        if not loss_name.startswith('loss_'):
            raise ValueError(f'loss_name must start with "loss_" so mmseg '
                             f'counts it in the total, got {loss_name!r}')
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.class_weight = class_weight
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    def forward(self,
                pred: torch.Tensor,
                target: Optional[torch.Tensor] = None,
                weight: Optional[torch.Tensor] = None,
                ignore_index: Optional[int] = None,
                target_shares: Optional[torch.Tensor] = None,
                pred_is_prob: bool = False,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (torch.Tensor): ``N x C x H x W`` logits, or probabilities
                with ``pred_is_prob=True``.
            target (torch.Tensor, optional): ``N x H x W`` label map; its
                class shares are the target unless ``target_shares`` is
                given, and its ignore pixels are left out of ``p_pred``.
            weight (torch.Tensor, optional): Per-pixel weights ``N x H x W``.
            ignore_index (int, optional): Overrides the constructor's.
            target_shares (torch.Tensor, optional): ``N x C`` target shares
                (rows summing to 1), e.g. parsed from the prompt.
            pred_is_prob (bool): ``pred`` already holds probabilities.
                Defaults to False.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            torch.Tensor: The weighted loss.
        """
        if target is None and target_shares is None:
            raise ValueError('ProportionAwareLoss needs a label map (target) '
                             'or explicit target_shares')
        if ignore_index is None:
            ignore_index = self.ignore_index
        num_classes = pred.shape[1]
        probs = pred if pred_is_prob else pred.float().softmax(dim=1)

        valid = None
        if target is not None:
            if target.shape[-2:] != pred.shape[-2:]:
                raise ValueError(f'label size {tuple(target.shape[-2:])} does '
                                 f'not match prediction size '
                                 f'{tuple(pred.shape[-2:])}')
            valid = (target != ignore_index).to(probs.dtype)
            if weight is not None and weight.shape == target.shape:
                valid = valid * weight.to(probs.dtype)
        p_pred = predicted_class_shares(probs, valid)

        if target_shares is None:
            p_target = label_class_shares(target, num_classes, valid)
        else:
            p_target = target_shares.to(p_pred)
            if p_target.shape != p_pred.shape:
                raise ValueError(f'target_shares has shape '
                                 f'{tuple(p_target.shape)}, expected '
                                 f'{tuple(p_pred.shape)} (N x num_classes)')

        diff = (p_pred - p_target).abs()
        if self.class_weight is None:
            per_image = diff.mean(dim=1)
        else:
            cw = diff.new_tensor(self.class_weight)
            per_image = (diff * cw / cw.sum()).sum(dim=1)
        if self.class_reduction == 'sum':
            per_image = per_image * num_classes

        reduction = reduction_override or self.reduction
        if reduction == 'mean':
            loss = per_image.mean()
        elif reduction == 'sum':
            loss = per_image.sum()
        else:
            loss = per_image
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        """Name of the loss item in the log (starts with ``loss_``)."""
        return self._loss_name
