"""What a generator's training step adds to mmengine's: a NaN check that
names the iteration and the terms (and leaves fp16 overflow steps to the
loss scaler), each loss term's gradient norm and the encoding caches' hit
rates in the log, and the EMA update."""
import logging
from typing import Dict

import torch
from mmengine.logging import MessageHub, print_log


class TrainingStepMixin:
    """For a :class:`DiffusionGenerator` (before ``BaseModel`` in its bases;
    its ``nan_check``, ``max_nonfinite_steps``, ``grad_norm_interval``,
    ``_train_steps``, ``latent_cache``, ``text_cache``, ``ema`` and
    ``trainable_parameters``)."""

    def check_finite(self, losses: Dict[str, torch.Tensor]) -> None:
        """Raise with the iteration and all terms if a loss is not finite;
        under a loss scaler (fp16 AMP), count the step as skipped (the
        scaler skips it) and raise only after ``max_nonfinite_steps`` in a
        row."""
        if not self.nan_check:
            return
        if all(torch.isfinite(v).all() for v in losses.values()):
            self.nonfinite_in_a_row = 0
            return
        hub = MessageHub.get_current_instance()
        iteration = hub.get_info('iter') if hub else None
        terms = ', '.join(f'{k}={v.item():.4g}' for k, v in losses.items())
        if self._loss_scaled and \
                self.nonfinite_in_a_row < self.max_nonfinite_steps:
            self.nonfinite_in_a_row += 1
            self.skipped_steps += 1
            print_log(f'non-finite loss at iteration {iteration} ({terms}): '
                      f'the loss scaler skips this step '
                      f'({self.nonfinite_in_a_row} in a row, '
                      f'{self.skipped_steps} in all)', logger='current',
                      level=logging.WARNING)
            return
        in_a_row = (f' ({self.nonfinite_in_a_row + 1} steps in a row; '
                    f'the loss scaler skipped the first '
                    f'{self.nonfinite_in_a_row})'
                    if self._loss_scaled else '')
        raise FloatingPointError(
            f'non-finite loss at iteration {iteration}{in_a_row}: {terms}. '
            'Lower the learning rate, use bf16 instead of fp16, or check '
            'the data')

    def parse_losses(self, losses: Dict[str, torch.Tensor]):
        """mmengine's sum of the ``loss*`` terms, plus, every
        ``grad_norm_interval`` training iterations, each term's gradient
        norm on the trainable weights (see :meth:`loss_grad_norms`)."""
        loss, log_vars = super().parse_losses(losses)
        if self.training and torch.is_grad_enabled():
            due = self.grad_norm_interval and \
                self._train_steps % self.grad_norm_interval == 0
            self._train_steps += 1
            if due and loss.requires_grad:
                log_vars.update(self.loss_grad_norms(losses))
            for name, cache in (('latents', self.latent_cache),
                                ('text', self.text_cache)):
                if cache is not None:
                    # share of this batch; the logger averages over its
                    # interval
                    log_vars[f'cache_hits_{name}'] = torch.tensor(
                        cache.last_hit_rate)
        return loss, log_vars

    def loss_grad_norms(self, losses: Dict[str, torch.Tensor]
                        ) -> Dict[str, torch.Tensor]:
        """``grad_norm_<term>``: the L2 norm of d(term)/d(trainable weights)
        for each ``loss_<term>`` (the graph is kept for the real backward).
        Under fp16 AMP the unscaled terms may underflow: read the norms as
        a comparison between terms, not absolute values."""
        params = [p for p in self.trainable_parameters().values()]
        norms = {}
        for name, value in losses.items():
            if not (name.startswith('loss_') and value.requires_grad):
                continue
            grads = torch.autograd.grad(value, params, retain_graph=True,
                                        allow_unused=True)
            squares = [g.float().pow(2).sum() for g in grads if g is not None]
            total = torch.stack(squares).sum().sqrt() if squares else \
                value.new_zeros(())
            norms['grad_norm_' + name[len('loss_'):]] = total.detach()
        return norms

    def train_step(self, data, optim_wrapper):
        # AmpOptimWrapper's GradScaler skips a step whose gradients are not
        # finite; check_finite leaves such steps to it
        self._loss_scaled = getattr(optim_wrapper, 'loss_scaler',
                                    None) is not None
        log_vars = super().train_step(data, optim_wrapper)
        if self._loss_scaled:
            log_vars['skipped_steps'] = float(self.skipped_steps)
        self.update_ema(optim_wrapper)
        return log_vars
