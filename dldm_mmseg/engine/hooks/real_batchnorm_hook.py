"""BatchNorm statistics re-estimated on the real training samples.

A segmentor trained on real and synthetic samples in the same batches
keeps BatchNorm running statistics of that mixture, and applies them to
real images at test time. :class:`RealBatchNormHook` re-estimates them on
the real training samples alone once training ends (AdaBN, Li et al.
2016), before the last checkpoint is saved and the last validation runs;
:func:`recalibrate_batchnorm` does it for any model and batches.
"""
from itertools import islice
from typing import Iterable, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg.registry import HOOKS
from dldm_mmseg.datasets.samplers import real_loader


def recalibrate_batchnorm(model, batches: Iterable,
                          max_batches: Optional[int] = None) -> int:
    """Replace the running mean and variance of ``model``'s BatchNorm
    layers by their plain average over ``batches``.

    Only the BatchNorm layers run in train mode (the rest in eval mode, so
    dropout is off), without gradients, through the model's
    ``data_preprocessor`` and its ``mode='tensor'`` forward. A BatchNorm
    layer that forward does not reach (an auxiliary head) keeps its
    statistics, and so does one held in eval mode while the model trains
    (a backbone with ``norm_eval=True``: its statistics are frozen). The
    model's modes and each layer's ``momentum`` are restored.

    Args:
        model: An mmengine ``BaseModel`` (a segmentor).
        batches (Iterable): Data batches as its dataloader gives them.
        max_batches (int, optional): Stop after this many.

    Returns:
        int: The number of batches used.

    Raises:
        ValueError: When the model has no BatchNorm layer, or there is no
            batch.
    """
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)
             and m.track_running_stats and (m.training or not model.training)]
    if not norms:
        raise ValueError(f'{type(model).__name__} has no BatchNorm layer '
                         'with running statistics that training updates')
    saved = [(m.momentum, m.running_mean.clone(), m.running_var.clone(),
              m.num_batches_tracked.clone()) for m in norms]
    reached = set()
    handles = [m.register_forward_hook(
        lambda module, *_: reached.add(id(module))) for m in norms]
    modes = {m: m.training for m in model.modules()}
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
    model.eval()
    for m in norms:
        m.train()
    used = 0
    try:
        with torch.no_grad():
            for batch in islice(batches, max_batches):
                data = model.data_preprocessor(batch, True)
                model(**data, mode='tensor')
                used += 1
    finally:
        for handle in handles:
            handle.remove()
        for m, (momentum, mean, var, tracked) in zip(norms, saved):
            m.momentum = momentum
            if id(m) not in reached or used == 0:
                m.running_mean.copy_(mean)
                m.running_var.copy_(var)
                m.num_batches_tracked.copy_(tracked)
        for m, training in modes.items():
            m.training = training
    if used == 0:
        raise ValueError('no batch to recalibrate BatchNorm on')
    return used


@HOOKS.register_module()
class RealBatchNormHook(Hook):
    """After the last training iteration, re-estimate every BatchNorm
    layer's running statistics on the real training samples only
    (:func:`recalibrate_batchnorm`, :func:`real_loader`).

    It runs before ``CheckpointHook`` saves the last checkpoint and before
    the last validation, so both hold the re-estimated statistics; not
    when training stops before its last iteration. Under ``EMAHook`` the
    averaged model keeps the statistics it averaged. In a mixed config::

        custom_hooks = [dict(type='RealBatchNormHook')]

    Args:
        max_batches (int, optional): At most this many real batches.
            Defaults to all of them.
        batch_size (int, optional): Defaults to the training batch size.
        seed (int): The shuffle of the real samples. Defaults to 0.
    """

    priority = 'ABOVE_NORMAL'  # CheckpointHook is VERY_LOW

    def __init__(self, max_batches: Optional[int] = None,
                 batch_size: Optional[int] = None, seed: int = 0) -> None:
        self.max_batches = max_batches
        self.batch_size = batch_size
        self.seed = seed

    def recalibrate(self, runner) -> int:
        """Re-estimate the statistics of ``runner``'s model now; returns
        the number of batches used."""
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        loader = real_loader(runner.train_dataloader, self.batch_size,
                             self.seed)
        used = recalibrate_batchnorm(model, loader, self.max_batches)
        runner.logger.info(
            f'RealBatchNormHook: BatchNorm statistics re-estimated on {used} '
            f'batches of the {len(loader.dataset)} real training samples')
        return used

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self.is_last_train_iter(runner):
            self.recalibrate(runner)
