"""Stage 3: turn the trained generators into a synthetic dataset.

``SynthesisEngine(cfg).run(num, out_dir)`` writes a set in the layout of
:mod:`dldm_mmseg.datasets.synth_layout` (images, masks, per-sample records, the
manifest and the configuration fingerprint).

Sample ``i`` (id ``f'{i:06d}'``) uses mask seed ``base_seed + i``, image
seed :func:`image_seed` ``(base_seed, i)`` and target shares drawn from
``(base_seed, i)``, whatever the batch size or the number of processes.

How samples meet in network batches (``batching``):

* ``'aligned'`` (default): sample ``i`` is always computed in chunk
  ``i // batch_size`` with the same mates, whatever the number of
  processes (ranks take whole chunks, ``chunk % world_size == rank``) and
  wherever a run was killed (a chunk with a missing sample is computed
  whole and only its missing files are written). Files are then
  bit-identical for 1 or N processes and for resumed runs, at batched
  speed; the batch size is part of the set's identity.
* ``'one_at_a_time'``: the networks see one sample at a time: files are
  identical whatever the batch size too, at batch-1 speed.
* ``'free'``: batches of whatever this rank still has to do; fastest to
  set up, but a sample's pixels may differ by a grey level between runs
  with other process counts or resume points.

Every file is written atomically and the record last, so a run killed at
any point and started again finishes with exactly ``num`` valid pairs.
"""
import os
import os.path as osp
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional

import numpy as np
from mmengine.device import get_device
from PIL import Image

import torch
from mmengine.dist import barrier

from dldm_mmseg.evaluation.consistency import (ConsistencyChecker,
                                               differentiable_logits)
from dldm_mmseg.utils.dtypes import DTYPES
from dldm_mmseg.utils.label_stats import (class_proportion_error, class_shares,
                                          read_label_map,
                                          remove_isolated_pixels,
                                          to_train_ids)
from dldm_mmseg.utils.prompts import compose_prompt, format_class_shares
from dldm_mmseg.utils.source_dataset import source_dataset_defaults
from dldm_mmseg.utils.progress import progress_bar
from dldm_mmseg.datasets.synth_layout import (RECORDS, RETRY_SEED_STRIDE,
                                              image_seed, sample_id,
                                              synthesis_status, work_groups)
from dldm_mmseg.synthesis.output import (SetOutputMixin, real_captions_file,
                                         real_mask_paths, weight_hashes)
from dldm_mmseg.synthesis.runtime import (deterministic_kernels,
                                          load_generator)
from dldm_mmseg.synthesis.settings import SynthesisSettings
from dldm_mmseg.synthesis.share_sampler import TargetShareSampler


class SynthesisEngine(SetOutputMixin):
    """Builds synthetic image/mask pairs from the two trained generators.

    Args:
        cfg (dict): The ``synthesis`` dict of a synth config (see
            ``configs/synth/potsdam.py``); its keys and defaults are those of
            :class:`~dldm_mmseg.synthesis.settings.SynthesisSettings`.
        device (str, optional): Torch device. Defaults to cuda if present.
        mask_model, image_model: Already built generators (skips building
            them from ``cfg``; used by tests and the demo).
    """

    def __init__(self, cfg: dict, device: Optional[str] = None,
                 mask_model=None, image_model=None) -> None:
        settings = SynthesisSettings.from_config(cfg)
        self.cfg = cfg
        #: every setting, typed (the engine keeps no copies of them)
        self.settings = settings
        self.device = device or get_device()
        source = source_dataset_defaults(settings.source_dataset)
        self.classes = tuple(source['metainfo']['classes'])
        self.reduce_zero_label = source['reduce_zero_label']
        # Matrix kernels pick code paths by batch shape, so a sample's
        # floats (and, rarely, a rounded pixel) depend on its batch mates:
        # see ``batching`` in the module docstring.
        self.deterministic = settings.batching != 'free'
        self.net_batch = 1 if settings.batching == 'one_at_a_time' else \
            settings.batch_size
        self.consistency = ConsistencyChecker(
            device=self.device, **settings.consistency.kwargs()) \
            if settings.consistency else None
        if self.consistency:
            self._check_reference(self.consistency, 'consistency',
                                  settings.consistency.checkpoint or
                                  settings.consistency.config)
        self.seg_guidance = self._seg_guidance(settings)
        self.share_sampler = self._share_sampler(settings)
        if settings.masks == 'real':
            self._check_real_patches()
        # real masks (``masks='real'``) need no stage 1
        self.mask_model = None if settings.masks == 'real' else (
            mask_model or load_generator(settings.mask_generator))
        self.image_model = image_model or load_generator(
            settings.image_generator)
        self._prepare_for_inference(settings)
        self.weight_hashes = weight_hashes(settings)

    def _seg_guidance(self, settings: SynthesisSettings) -> Optional[dict]:
        """``generate_images``' ``seg_guidance`` from ``settings``: the
        segmentor (the consistency filter's when it is the same model)
        as a differentiable function, its scale and timesteps."""
        guidance = settings.seg_guidance
        if not guidance:
            return None
        config, checkpoint = guidance.config, guidance.checkpoint
        reference = self.consistency
        if reference is None or (config, checkpoint) != (
                settings.consistency.config,
                settings.consistency.checkpoint):
            reference = ConsistencyChecker(config, checkpoint,
                                           device=self.device)
            self._check_reference(reference, 'seg_guidance',
                                  checkpoint or config)
        return dict(scale=guidance.scale, timesteps=guidance.timesteps,
                    segmentor=differentiable_logits(reference.model))

    def _check_reference(self, reference: ConsistencyChecker, key: str,
                         source: str) -> None:
        """Refuse a reference segmentor whose class indices are not the
        set's: another number of classes, or the set's class names in
        another order (names it does not share may be mmseg's guess for
        a checkpoint saved without them, and are not compared).

        Raises:
            ValueError: Naming ``synthesis.<key>``, the ``source`` of
                the segmentor (its checkpoint, or config without one) and
                both class lists.
        """
        num = reference.model.decode_head.num_classes
        names, classes = reference.class_names, list(self.classes)
        if num != len(classes) or (
                sorted(names) == sorted(classes) and names != classes):
            raise ValueError(
                f'synthesis.{key}: the segmentor {source} has {num} '
                f'classes ({", ".join(names)}), the set {len(classes)} '
                f'({", ".join(classes)}); use a segmentor trained on this '
                "real set, its classes in the set's order")

    def _share_sampler(self, settings: SynthesisSettings
                       ) -> TargetShareSampler:
        """The target-share sampler of ``settings.shares``; in mode
        ``'real'`` (the default) over the real patches' captions."""
        options = dict(settings.shares.kwargs(), seed=settings.base_seed)
        if settings.share_mode != 'real':
            return TargetShareSampler(self.classes, **options)
        if not settings.real_captions:
            raise ValueError(
                "synthesis.shares.mode='real' draws target shares from "
                'the real patches: set synthesis.real_captions='
                "dict(data_root=...) (the folder tools/caption.py "
                "wrote captions.jsonl in), or shares.mode='fixed'")
        return TargetShareSampler.from_captions(
            self.classes, real_captions_file(settings), **options)

    def _prepare_for_inference(self, settings: SynthesisSettings) -> None:
        """Device, dtype (``dtype``: 'fp16'/'bf16', default fp16 on CUDA
        and fp32 on CPU), ``channels_last`` and optional ``compile``."""
        name = settings.dtype or ('fp16' if str(self.device).startswith(
            'cuda') else 'fp32')
        for model in filter(None, (self.mask_model, self.image_model)):
            model.to(self.device, DTYPES[name]).eval()
            nets = [model.unet, model.vae] + (
                [model.controlnet] if hasattr(model, 'controlnet') else [])
            if settings.channels_last:
                for net in nets:
                    net.to(memory_format=torch.channels_last)
            if settings.compile:
                model.unet = torch.compile(model.unet)
                if hasattr(model, 'controlnet'):
                    model.controlnet = torch.compile(model.controlnet)

    # -- generation ----------------------------------------------------------
    def plan(self, index: int) -> dict:
        s = self.settings
        target = self.share_sampler(index)
        share_text = format_class_shares(target['shares'], self.classes)
        caption = target['caption'].strip().rstrip('.')
        return dict(
            index=index, id=sample_id(index), seed=s.base_seed + index,
            patch=target['patch'],
            image_seed=image_seed(s.base_seed, index),
            target=target['shares'],
            mask_prompt=compose_prompt(share_text, caption, s.mask_prompt),
            image_prompt=compose_prompt(share_text, caption, s.image_prompt))

    def _masks(self, plans: List[dict]) -> List[dict]:
        """Generate (and, with ``reject``, regenerate) the masks, or read
        the drawn real patches' masks (``masks='real'``)."""
        s, reject = self.settings, self.settings.reject
        if s.masks == 'real':
            return [self._real_mask(plan) for plan in plans]
        results = [None] * len(plans)
        pending = list(range(len(plans)))
        for attempt in range(reject.max_tries if reject.max_cpe is not None
                             else 1):
            if not pending:
                break
            seeds = [plans[j]['seed'] + attempt * RETRY_SEED_STRIDE
                     for j in pending]
            out = self.mask_model.generate_masks(
                [plans[j]['mask_prompt'] for j in pending], seeds,
                class_shares=[plans[j]['target'] for j in pending],
                height=s.size, width=s.size,
                batch_size=self.net_batch, **s.mask_sampling.kwargs())
            still = []
            for k, j in enumerate(pending):
                labels = remove_isolated_pixels(out['labels'][k],
                                                s.cleanup_min_neighbours)
                measured = class_shares(labels, len(self.classes))
                cpe = float(class_proportion_error(
                    measured, plans[j]['target']).mean())
                if results[j] is None or cpe < results[j]['cpe']:
                    results[j] = dict(labels=labels, measured=measured,
                                      cpe=cpe, mask_seed=seeds[k],
                                      tries=attempt + 1)
                else:
                    results[j]['tries'] = attempt + 1
                if reject.max_cpe is not None and cpe > reject.max_cpe:
                    still.append(j)
            pending = still
        for j in pending:
            results[j]['rejection_passed'] = False
        return results

    def _check_real_patches(self) -> None:
        """Before anything is written: every real mask the sampler can
        draw exists and is ``size`` pixels square (headers only).

        Raises:
            ValueError: Naming the file (or captions line) and the fix.
        """
        size = self.settings.size
        for path in real_mask_paths(real_captions_file(self.settings),
                                    self.settings.real_captions[
                                        'data_root']):
            with Image.open(path) as img:
                if img.size != (size, size):
                    raise ValueError(
                        f'{path} is {img.size[0]} x {img.size[1]} pixels; '
                        "synthesis.masks='real' paints the real masks as "
                        f'they are, at synthesis.size = {size}: set '
                        "synthesis.size to the patches' size (or cut the "
                        'patches to it)')

    def _real_mask(self, plan: dict) -> dict:
        """The label map of the real patch drawn for ``plan``, as
        :meth:`_masks` gives a generated one.

        Raises:
            ValueError: Naming the file when its shares are not those its
                caption states (captions older than the label map).
        """
        record = self.share_sampler.patches[plan['patch']]
        path = osp.join(self.settings.real_captions['data_root'],
                        record['seg_map_path'])
        labels = to_train_ids(read_label_map(path), self.reduce_zero_label)
        measured = class_shares(labels, len(self.classes), path=path,
                                reduce_zero_label=self.reduce_zero_label)
        cpe = float(class_proportion_error(measured, plan['target']).mean())
        if cpe > 1:  # more than the rounding to whole percents
            raise ValueError(
                f'{path} holds {format_class_shares(measured, self.classes)}'
                f', its caption says {record["share_text"]!r}: the label '
                'map changed after it was captioned; write the captions '
                'again with tools/caption.py --overwrite')
        return dict(labels=labels, measured=measured, cpe=cpe,
                    mask_seed=None, tries=0, real_mask=record['id'])

    def _apply_consistency(self, plans, masks, images) -> None:
        """Check pairs with the reference model; in 'ignore' mode the
        disagreeing pixels become ignore and the shares are re-measured."""
        checks = self.consistency(list(images), [m['labels'] for m in masks])
        for plan, mask, check in zip(plans, masks, checks):
            mask['labels'] = check['mask']
            mask['consistency'] = dict(
                disagreement=check['disagreement'],
                consistency_passed=check['consistency_passed'],
                consistency_mode=self.consistency.mode,
                disagreeing_pixels=dict(zip(self.classes,
                                            check['disagreeing_pixels'])))
            measured = class_shares(check['mask'], len(self.classes))
            mask['measured'] = measured
            mask['cpe'] = float(class_proportion_error(
                measured, plan['target']).mean())

    def run(self, num: int, out_dir: str, overwrite: bool = False,
            rank: int = 0, world_size: int = 1, progress: bool = True
            ) -> Dict[str, object]:
        """Generate the missing samples of ``0..num-1`` owned by this rank,
        then (rank 0, after all ranks) write the manifest.

        Returns:
            dict: ``generated`` (this rank), ``seconds``, ``complete``.
        """
        if not isinstance(num, int) or num <= 0:
            raise ValueError(f'--num must be a positive integer, got {num!r}')
        if rank == 0:
            self.prepare_output(out_dir, overwrite)
        barrier()
        done = synthesis_status(out_dir, num)['done']
        beyond = sorted(n[:-5] for n in os.listdir(osp.join(out_dir, RECORDS))
                        if n.endswith('.json') and n[:-5].isdigit()
                        and int(n[:-5]) >= num)
        if beyond:
            raise ValueError(
                f'{out_dir} already holds {len(beyond)} samples beyond '
                f'--num {num} (e.g. {beyond[:3]}); ask for at least '
                f'{int(beyond[-1]) + 1}, or use another --out')
        groups = self.work_groups(num, done, rank, world_size)
        todo = sum(len(write) for _, write in groups)
        start = time.perf_counter()
        bar = None
        if progress and todo:
            print(f'synthesis: {num - len(done)} of {num} samples to make '
                  f'({todo} on rank {rank}) -> {out_dir}')
            bar = progress_bar(todo, 'synthesis')
        with ThreadPoolExecutor(max_workers=2) as writer, \
                deterministic_kernels(self.deterministic):
            pending_writes = []
            for indices, write in groups:
                t0 = time.perf_counter()
                plans = [self.plan(i) for i in indices]
                masks = self._masks(plans)
                images = self.image_model.generate_images(
                    np.stack([m['labels'] for m in masks]),
                    [p['image_prompt'] for p in plans],
                    [p['image_seed'] for p in plans],
                    batch_size=self.net_batch, seg_guidance=self.seg_guidance,
                    **self.settings.image_sampling.kwargs())
                if self.consistency is not None:
                    self._apply_consistency(plans, masks, images)
                per_sample = (time.perf_counter() - t0) / len(plans)
                for job in pending_writes:  # surface write errors early
                    job.result()
                pending_writes = [writer.submit(self._write, out_dir, p, m,
                                                img, per_sample)
                                  for p, m, img in zip(plans, masks, images)
                                  if p['index'] in write]
                if bar:
                    for _ in write:
                        bar.update()
            for job in pending_writes:
                job.result()
        seconds = time.perf_counter() - start
        barrier()
        if rank == 0:
            self.write_manifest(out_dir, num)
        barrier()
        return dict(generated=todo, seconds=seconds,
                    complete=synthesis_status(out_dir, num)['complete'])

    def work_groups(self, num: int, done: set, rank: int = 0,
                    world_size: int = 1) -> List[tuple]:
        """This rank's network batches (see :func:`~dldm_mmseg.synthesis.
        layout.work_groups`)."""
        return work_groups(num, done, self.settings.batch_size,
                           self.settings.batching, rank, world_size)
