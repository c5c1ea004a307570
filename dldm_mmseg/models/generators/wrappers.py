"""The generators' DDP wrapper: mmengine's, plus the EMA update."""
from mmengine.model import MMDistributedDataParallel

from mmseg.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class GeneratorDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that updates the generator's EMA
    weights after each optimizer step, as the generator's own
    ``train_step`` does on one process (mmengine's wrapper calls the
    module's forward and ``parse_losses`` but not its ``train_step``, so
    with the stock wrapper the EMA shadow never moves under DDP). Every
    rank updates its own copy from identical, all-reduced weights.

    Set in ``configs/generators/_base_/generator_runtime.py`` as
    ``model_wrapper_cfg``; takes ``MMDistributedDataParallel``'s arguments.
    """

    def train_step(self, data, optim_wrapper):
        log_vars = super().train_step(data, optim_wrapper)
        self.module.update_ema(optim_wrapper)
        return log_vars
