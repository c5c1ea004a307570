"""Save a fitted :class:`~dldm_mmseg.models.VAEAutoencoder` at the end of
training, with its latent scaling factor measured on the training data."""
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmseg.registry import HOOKS
from .generator_hooks import _unwrap, check_run_real_set


@HOOKS.register_module()
class VAEExportHook(Hook):
    """After training, write the VAE in the diffusers layout (what
    ``components=dict(preset=..., vae=FOLDER)`` loads) and log its latent
    scaling factor and the share of mask pixels it reconstructs in their
    class (both on the first ``max_batches`` training batches).

    Args:
        out (str, optional): Folder to write; relative paths are under the
            work dir. Defaults to ``'export/final'``.
        max_batches (int): Training batches the scaling factor and the
            accuracy are measured on. Defaults to 8.
    """

    priority = 'LOW'

    def __init__(self, out: Optional[str] = None, max_batches: int = 8):
        self.out = out or osp.join('export', 'final')
        self.max_batches = max_batches
        #: what :meth:`VAEAutoencoder.export` returned, once trained
        self.result = None

    def before_train(self, runner) -> None:
        check_run_real_set(runner)

    def after_train(self, runner) -> None:
        if not is_main_process():
            return
        path = osp.join(runner.work_dir, self.out)
        self.result = _unwrap(runner.model).export(
            path, iter(runner.train_dataloader), self.max_batches)
        accuracy = self.result['mask_pixel_accuracy']
        runner.logger.info(
            f'VAE saved to {path}: latent scaling factor '
            f'{self.result["scaling_factor"]:.4f}' + (
                '' if accuracy is None else ', mask pixels reconstructed in '
                f'their class {100 * accuracy:.1f}%'))
