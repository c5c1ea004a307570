"""Exponential moving averages of a generator's trainable weights: the
weights its exports hold and its val loop and synthesis sample with."""
import contextlib
from typing import Dict

import torch
import torch.nn as nn


class EMAShadow(nn.Module):
    """Exponential moving averages of the trainable parameters only."""

    def __init__(self, named_params: Dict[str, nn.Parameter]):
        super().__init__()
        self.names = list(named_params)
        for name, param in named_params.items():
            self.register_buffer(name.replace('.', '__'),
                                 param.detach().clone().float())

    def shadow(self, name: str) -> torch.Tensor:
        return getattr(self, name.replace('.', '__'))


class EMAMixin:
    """EMA of ``trainable_parameters()`` for a model that sets ``self.ema``
    (an :class:`EMAShadow`, or None without EMA) and ``self.ema_decay``.
    """

    def reset_ema(self) -> None:
        """Set the EMA shadow to the current trainable weights."""
        if self.ema is not None:
            device = next(iter(self.trainable_parameters().values())).device
            self.ema = EMAShadow(self.trainable_parameters()).to(device)

    @torch.no_grad()
    def update_ema(self, optim_wrapper) -> None:
        """Move the EMA shadow toward the trainable weights when
        ``optim_wrapper`` has just stepped (not on a gradient-accumulation
        iteration); no-op without EMA. The one EMA update of a training
        iteration, on one process (``train_step``) and under DDP
        (``GeneratorDistributedDataParallel``) alike."""
        if self.ema is None or not optim_wrapper.should_update():
            return
        for name, param in self.trainable_parameters().items():
            self.ema.shadow(name).lerp_(param.detach().float(),
                                        1 - self.ema_decay)

    @contextlib.contextmanager
    def ema_weights(self):
        """Temporarily use the EMA weights (no-op without EMA)."""
        if self.ema is None:
            yield
            return
        params = self.trainable_parameters()
        saved = {n: p.detach().clone() for n, p in params.items()}
        with torch.no_grad():
            for name, param in params.items():
                param.copy_(self.ema.shadow(name))
        try:
            yield
        finally:
            with torch.no_grad():
                for name, param in params.items():
                    param.copy_(saved[name])
