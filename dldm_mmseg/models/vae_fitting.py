"""Fit the VAE of an architecture preset as an autoencoder of a dataset's
colour masks or images (``tools/fit_vae.py``, the demo's VAE step), so
generators built from the preset (``components=dict(preset='small',
vae=OUT)``) start from a VAE that reconstructs. Pretrained Stable Diffusion
checkpoints need no such step.

The fit is an mmengine run like every other stage: a
:class:`~dldm_mmseg.models.VAEAutoencoder` trained by ``Runner`` on
:class:`~dldm_mmseg.datasets.MaskCaptionDataset` samples, written out by
``VAEExportHook``. :func:`vae_fit_config` is its config (what a config file
such as ``configs/demo/vae_masks_small_toy.py`` holds); :func:`fit_vae`
runs it.
"""
import itertools
import json
import os.path as osp
import time
from typing import Optional

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmseg.registry import DATASETS
from dldm_mmseg.evaluation.mask_round_trip import (held_out_labels,
                                                   mask_round_trips,
                                                   round_trip_text)
from dldm_mmseg.models.vae_autoencoder import CONTENTS
from dldm_mmseg.utils.io import atomic_open
from dldm_mmseg.utils.mask_encoding import encoding_of
from dldm_mmseg.utils.palette import blend_conflicts, palette_quantiser
from dldm_mmseg.utils.source_dataset import source_dataset_defaults

_RUN_NUMBERS = itertools.count()


def vae_fit_config(data_root: str, out: str, preset: str = 'small',
                   source_dataset=None, iters: int = 400,
                   batch_size: int = 16, lr: float = 1e-3,
                   kl_weight: float = 1e-6, seed: int = 0,
                   log_interval: int = 50, mask_ce_weight: float = 0.1,
                   crop_size: Optional[int] = None,
                   class_balance: float = 0.5, content: str = 'both',
                   work_dir: Optional[str] = None,
                   mask_encoding: str = 'rgb',
                   latent_channels: Optional[int] = None,
                   scale_factor: Optional[int] = None) -> Config:
    """The config of a VAE fit (arguments as :func:`fit_vae`).

    The training samples are the dataset's masks (and, unless ``content``
    is ``'masks'``, images) through ``MaskCaptionDataset``'s default
    pipeline: random flips and quarter turns, and random square crops of
    ``crop_size`` pixels (the VAE is convolutional: on the demo's 64 px
    scenes, 32 px crops let four times the steps into the same minutes).
    """
    return Config(dict(
        default_scope='mmseg',
        custom_imports=dict(imports=['dldm_mmseg'],
                            allow_failed_imports=False),
        work_dir=work_dir or f'{osp.normpath(out)}_fit',
        model=dict(type='VAEAutoencoder', source_dataset=source_dataset,
                   preset=preset, content=content, kl_weight=kl_weight,
                   mask_ce_weight=mask_ce_weight,
                   class_balance=class_balance, seed=seed,
                   mask_encoding=mask_encoding,
                   # the preset's own unless asked (a demo config holds no
                   # such key)
                   **{key: value for key, value in (
                       ('latent_channels', latent_channels),
                       ('scale_factor', scale_factor)) if value is not None}),
        train_dataloader=dict(
            batch_size=batch_size, num_workers=0, persistent_workers=False,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            dataset=dict(type='MaskCaptionDataset', data_root=data_root,
                         source_dataset=source_dataset,
                         load_image=content != 'masks',
                         crop_size=(crop_size, crop_size) if crop_size
                         else None,
                         allow_missing_captions=True)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=iters),
        optim_wrapper=dict(type='OptimWrapper',
                           optimizer=dict(type='AdamW', lr=lr)),
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=log_interval),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=min(iters, 500), max_keep_ckpts=1)),
        custom_hooks=[dict(type='VAEExportHook', out=osp.abspath(out))],
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=seed),
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo')),
        log_level='INFO',
        launcher='none'))


def fit_vae(data_root: str, out: str, preset: str = 'small',
            source_dataset=None, iters: int = 400,
            batch_size: int = 16, lr: float = 1e-3, kl_weight: float = 1e-6,
            seed: int = 0, log_interval: int = 50,
            mask_ce_weight: float = 0.1, crop_size: Optional[int] = None,
            class_balance: float = 0.5, content: str = 'both',
            work_dir: Optional[str] = None, resume: bool = False,
            mask_encoding: str = 'rgb',
            latent_channels: Optional[int] = None,
            scale_factor: Optional[int] = None) -> dict:
    """Fit the preset VAE with ``Runner`` and save it to ``out``.

    Args:
        data_root (str): mmseg-format dataset with ``captions.jsonl``.
        out (str): Folder the fitted VAE is written to (diffusers layout).
        preset (str): Architecture preset. Defaults to ``'small'``.
        source_dataset (str | dict): The real set's classes and palette.
            Required.
        iters (int): Optimiser steps. Defaults to 400.
        batch_size (int): Scenes per step. Defaults to 16.
        lr (float): AdamW learning rate. Defaults to 1e-3.
        kl_weight, mask_ce_weight, class_balance, content, mask_encoding,
        latent_channels, scale_factor: See
            :class:`~dldm_mmseg.models.VAEAutoencoder`.
        seed (int): Seed of the preset's weights and of the run.
        log_interval (int): Steps between log lines. Defaults to 50.
        crop_size (int, optional): Train on random square crops of this
            many pixels. Defaults to None (whole scenes).
        work_dir (str, optional): The run's logs and checkpoints. Defaults
            to ``<out>_fit``.
        resume (bool): Continue from the last checkpoint in ``work_dir``.

    Returns:
        dict: ``first``/``last`` mean losses (first and last 20 steps at
        most), ``steps``, ``scaling_factor``, ``mask_pixel_accuracy`` and
        ``round_trip`` (:func:`vae_round_trip` on the val masks, else the
        train masks, also written to ``<work_dir>/round_trip.json``; both
        None for an ``'images'`` VAE).
    """
    if content not in CONTENTS:
        raise ValueError(f'content must be one of {CONTENTS}, got '
                         f'{content!r}')
    for name, value in (('iters', iters), ('batch_size', batch_size)):
        if value < 1:
            raise ValueError(f'{name} must be >= 1, got {value} (nothing '
                             'would be fitted and the VAE saved as it is)')
    if crop_size:
        init_default_scope('mmseg')
        first = DATASETS.build(dict(
            type='MaskCaptionDataset', data_root=data_root,
            source_dataset=source_dataset, augment=False,
            allow_missing_captions=True))[0]['label']
        if crop_size > min(first.shape):
            raise ValueError(f'crop_size {crop_size} is larger than the '
                             f'scenes of {data_root} ({tuple(first.shape)}); '
                             f'use at most {min(first.shape)}')
    cfg = vae_fit_config(data_root, out, preset, source_dataset, iters,
                         batch_size, lr, kl_weight, seed, log_interval,
                         mask_ce_weight, crop_size, class_balance, content,
                         work_dir, mask_encoding, latent_channels,
                         scale_factor)
    cfg.resume = resume
    # one logger and visualizer per run, also for runs started within the
    # same second in one process (mmengine names them by the time stamp)
    cfg.experiment_name = (f'vae_fit_{osp.basename(osp.normpath(out))}_'
                           f'{time.strftime("%Y%m%d_%H%M%S")}_'
                           f'{next(_RUN_NUMBERS)}')
    runner = Runner.from_cfg(cfg)
    runner.train()
    export = next(h for h in runner.hooks
                  if type(h).__name__ == 'VAEExportHook').result
    losses = runner.model.loss_history  # this run's steps (none if resumed
    window = max(1, min(20, len(losses) // 4))  # at the end)
    round_trip = None
    if content != 'images':
        round_trip = vae_round_trip(runner.model.vae, data_root,
                                    source_dataset)
        with atomic_open(osp.join(cfg.work_dir, 'round_trip.json')) as f:
            json.dump(round_trip, f, indent=1)
        runner.logger.info(round_trip['text'])
    return dict(first=sum(losses[:window]) / window if losses else None,
                last=sum(losses[-window:]) / window if losses else None,
                steps=runner.iter, round_trip=round_trip, **export)


#: the quantisations a round trip is measured with, per mask encoding
QUANTISERS = dict(rgb=('nearest', 'neighbourhood'), onehot=('argmax',))


def vae_round_trip(vae, data_root: str, source_dataset,
                   splits=('val', 'train')) -> dict:
    """:func:`~dldm_mmseg.evaluation.mask_round_trip.mask_round_trip` of
    a mask VAE on the first of ``splits`` with label maps, with the
    generator's two quantisations.

    Returns:
        dict: ``split``, ``encoding`` (``'rgb'`` or ``'onehot'``, from the
        VAE's channels), a result per quantisation of
        :data:`QUANTISERS` (``nearest`` and ``neighbourhood``, or
        ``argmax``),
        ``blend_conflicts`` (:func:`~dldm_mmseg.utils.palette.blend_conflicts`
        of the palette) and ``text`` (one line on the nearest-colour
        result).
    """
    source = source_dataset_defaults(source_dataset)
    meta = source['metainfo']
    labels, split = held_out_labels(data_root, source['reduce_zero_label'],
                                    splits)
    was_training = vae.training
    vae.eval()
    encoding = encoding_of(vae, len(meta['classes']))
    result = dict(split=split, encoding=encoding)
    result.update(mask_round_trips(
        vae, labels, meta['palette'], meta['classes'],
        {kind: palette_quantiser(meta['palette'], dict(type=kind))
         if encoding == 'rgb' else None for kind in QUANTISERS[encoding]}))
    vae.train(was_training)
    result['text'] = round_trip_text(result[QUANTISERS[encoding][0]], split)
    conflicts = blend_conflicts(meta['palette'], meta['classes']) \
        if encoding == 'rgb' else []
    result['blend_conflicts'] = conflicts
    if conflicts:
        a, b, c = conflicts[0]
        more = f' (and {len(conflicts) - 1} more pairs)' \
            if len(conflicts) > 1 else ''
        result['text'] += (
            f'. In this palette the blend of {a} and {b} is nearest to {c}'
            f'{more}: their borders come back as {c}; '
            "quantisation=dict(type='neighbourhood') avoids it")
    return result
