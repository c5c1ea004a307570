"""Hooks for generator training: diffusers-format export, sample grids."""
import os
import os.path as osp
import shutil
from typing import Optional, Sequence

import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS
from dldm_mmseg.models.generators.share_conditioning import measured_rows
from dldm_mmseg.utils.palette import index_to_rgb
from dldm_mmseg.utils.source_dataset import check_same_real_set


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


def _leaf_datasets(dataset):
    """The datasets inside wrappers (``ConcatDataset.datasets``,
    ``RepeatDataset.dataset``), or ``dataset`` itself."""
    inner = getattr(dataset, 'datasets', None)
    if inner is None and getattr(dataset, 'dataset', None) is not None:
        inner = [dataset.dataset]
    if inner is None:
        return [dataset]
    return [leaf for d in inner for leaf in _leaf_datasets(d)]


def check_run_real_set(runner) -> None:
    """:func:`check_same_real_set` of the runner's model against each
    dataset (inside wrappers too) it trains on and, when it validates,
    validates on."""
    config = getattr(runner.cfg, 'filename', None) or 'the config'
    loaders = dict(train_dataloader=runner.train_dataloader)
    val_loop = getattr(runner, '_val_loop', None)
    if val_loop is not None and hasattr(val_loop, 'dataloader'):
        loaders['val_dataloader'] = val_loop.dataloader
    for name, loader in loaders.items():
        for dataset in _leaf_datasets(loader.dataset):
            check_same_real_set(_unwrap(runner.model), dataset,
                                f'{config} ({name}.dataset)')


@HOOKS.register_module()
class GeneratorExportHook(Hook):
    """Write the trainable weights in diffusers format.

    At every checkpoint to ``<work_dir>/<out_dir>/iter_<N>`` and at the end
    of training to ``<work_dir>/<out_dir>/final``: the LoRA of a
    :class:`LoRAMaskGenerator` as ``pytorch_lora_weights.safetensors``
    (stock ``StableDiffusionPipeline.load_lora_weights(dir)`` reads it),
    the ControlNet of a :class:`ControlNetImageGenerator` via
    ``save_pretrained``. The generator's own checkpoints already leave the
    frozen SD weights out.

    Only the last ``keep`` checkpoint exports are kept (and ``final``): a
    ControlNet export is about 1.45 GB in fp32, one per epoch. Before each
    export the free space of the folder is checked against the size of
    the last one (the trainable weights in fp32 for the first), and the
    log says what each export takes.

    Args:
        out_dir (str): Folder under the work dir. Defaults to ``'export'``.
        at_checkpoints (bool): Also export at each checkpoint. Defaults to
            True.
        keep (int): Checkpoint exports kept, the newest. Defaults to 1.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str = 'export', at_checkpoints: bool = True,
                 keep: int = 1):
        if keep < 1:
            raise ValueError(f'GeneratorExportHook keep={keep}: keep at '
                             'least the newest export (keep >= 1), or set '
                             'at_checkpoints=False')
        self.out_dir = out_dir
        self.at_checkpoints = at_checkpoints
        self.keep = keep
        self._written = []  # checkpoint exports of this run, oldest first
        self._last_bytes = None

    def _export(self, runner, name: str) -> None:
        if not is_main_process():
            return
        folder = osp.join(runner.work_dir, self.out_dir)
        path = osp.join(folder, name)
        model = _unwrap(runner.model)
        needed = self._last_bytes or sum(
            p.numel() * 4 for p in model.parameters() if p.requires_grad)
        os.makedirs(folder, exist_ok=True)
        free = shutil.disk_usage(folder).free
        if free < needed:
            raise OSError(
                f'GeneratorExportHook: {folder} has {free / 1e9:.2f} GB '
                f'free, an export takes about {needed / 1e9:.2f} GB; free '
                'space there, or export less often (at_checkpoints=False '
                'writes only the final export)')
        model.export(path)
        self._last_bytes = _folder_bytes(path)
        runner.logger.info(f'exported generator weights to {path} '
                           f'({self._last_bytes / 1e6:.1f} MB)')

    def before_train(self, runner) -> None:
        # the export records the model's classes and palette: they must be
        # those of the masks it learns from
        check_run_real_set(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.at_checkpoints:
            iteration = checkpoint.get('meta', {}).get('iter', runner.iter)
            name = f'iter_{iteration}'
            self._export(runner, name)
            if not is_main_process():
                return
            self._written.append(name)
            while len(self._written) > self.keep:
                old = osp.join(runner.work_dir, self.out_dir,
                               self._written.pop(0))
                shutil.rmtree(old, ignore_errors=True)
                runner.logger.info(f'removed the older export {old} '
                                   f'(keep={self.keep})')

    def after_train(self, runner) -> None:
        self._export(runner, 'final')


def _folder_bytes(path: str) -> int:
    return sum(osp.getsize(osp.join(root, name))
               for root, _, names in os.walk(path) for name in names)


@HOOKS.register_module()
class GeneratorSampleHook(Hook):
    """Render sample grids to mmengine's visualizer every ``interval`` iters.

    For a mask generator: the masks drawn for ``prompts`` (class-share
    text), or, by default, for the prompts of the first training batch
    under the real masks they describe; for an image generator: the first
    ``num_samples`` training masks beside the images painted for them. The
    grid goes to the visualizer's backends (``vis_data/`` of the work dir
    with the local backend) with the prompts in the log.

    Args:
        interval (int): Iterations between grids. Defaults to 500.
        prompts (Sequence[str], optional): Prompts of the mask generator.
            Defaults to those of the first training batch (any dataset's
            classes).
        num_samples (int): Samples per grid. Defaults to 4.
        size (int, optional): Side of the samples in pixels. Defaults to the
            training crop (taken from the first batch).
        steps (int): Sampling steps. Defaults to 20.
        seed (int): Base seed: sample ``i`` uses ``seed + i``. Defaults to 0.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 500,
                 prompts: Optional[Sequence[str]] = None,
                 num_samples: int = 4, size: Optional[int] = None,
                 steps: int = 20, seed: int = 0):
        self.interval = interval
        self.prompts = list(prompts) if prompts else None
        self.num_samples = num_samples
        self.size = size
        self.steps = steps
        self.seed = seed
        self._batch = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self._batch is None and data_batch is not None:
            self._batch = {k: v[:self.num_samples] for k, v in
                           data_batch.items() if k in ('mask', 'label',
                                                       'prompt',
                                                       'target_shares')}
        if self.every_n_train_iters(runner, self.interval) and \
                is_main_process():
            self.render(runner)

    def render(self, runner) -> np.ndarray:
        """Make the grid, add it to the visualizer and return it."""
        model = _unwrap(runner.model)
        seeds = [self.seed + i for i in range(self.num_samples)]
        label = self._batch['label'] if self._batch else None
        size = self.size or (label.shape[-1] if label is not None else 512)
        was_training = model.training
        model.eval()
        try:
            if hasattr(model, 'generate_masks'):
                rows, shares = [], None
                if self.prompts:
                    prompts = (self.prompts * self.num_samples)[
                        :self.num_samples]
                else:  # the batch's prompts, under the masks they describe
                    prompts = list(self._batch['prompt'])
                    shares = measured_rows(self._batch['target_shares'])
                    rows.append(np.concatenate(list(index_to_rgb(
                        label.cpu().numpy(), model.palette)), 1))
                out = model.generate_masks(prompts, seeds[:len(prompts)],
                                           class_shares=shares,
                                           height=size, width=size,
                                           steps=self.steps)
                rows += [np.concatenate(list(out['rgb']), 1),
                         np.concatenate([index_to_rgb(m, model.palette)
                                         for m in out['labels']], 1)]
            else:
                # ignored pixels stay black, as in training
                labels = label.cpu().numpy()
                masks = index_to_rgb(labels, model.palette)
                prompts = list(self._batch['prompt'])
                images = model.generate_images(labels, prompts, seeds[
                    :len(masks)], steps=self.steps)
                rows = [np.concatenate(list(masks), 1),
                        np.concatenate(list(images), 1)]
        finally:
            model.train(was_training)
        grid = np.concatenate(rows, 0)
        runner.visualizer.add_image('generator_samples', grid,
                                    step=runner.iter + 1)
        runner.logger.info('sample prompts: ' + ' | '.join(prompts))
        return grid
