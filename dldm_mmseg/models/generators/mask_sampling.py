"""Stage 1 at inference: masks for prompts (``generate_masks``, what
synthesis calls) and for held-out patches (``predict``, what the val and
test loops call), optionally with proportion guidance."""
import contextlib
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.structures import PixelData

from mmseg.structures import SegDataSample
from dldm_mmseg.utils.palette import index_to_rgb
from dldm_mmseg.utils.prompts import check_share_prompt, format_class_shares
from .share_conditioning import (check_share_vectors, inputs_of_rows,
                                 measured_rows, unet_share_labels)


class MaskSamplingMixin:
    """For a :class:`LoRAMaskGenerator` (its ``classes``, ``quantise``,
    ``sample``, ``sample_seeds``, ``share_conditioned``, ``prompt_targets``
    and, with guidance, ``proportion_guidance``)."""

    @torch.no_grad()
    def predict(self, prompt: Sequence[str], target_shares: torch.Tensor,
                label: Optional[torch.Tensor] = None,
                sample_id: Optional[Sequence[str]] = None, **kwargs) -> list:
        """Masks for a batch of (held-out) patches' prompts: what the val
        and test loops call (``forward(mode='predict')``).

        Returns:
            list[SegDataSample]: ``pred_sem_seg`` (class indices, 255 where
            the mask is drawn in the ignore colour) with ``target_shares``
            (the prompt's shares, which ``ClassProportionMetric`` compares
            with), ``prompt``, ``seed`` and ``sample_id`` in the metainfo.
            The real label map is not attached: a generated mask is not
            drawn to match its pixels, only its shares.
        """
        prompts = list(prompt)
        ids = list(sample_id) if sample_id is not None else \
            [str(i) for i in range(len(prompts))]
        height, width = (label.shape[-2:] if label is not None
                         else (512, 512))
        seeds = self.sample_seeds(ids)
        out = self.generate_masks(prompts, seeds,
                                  class_shares=measured_rows(target_shares),
                                  height=int(height), width=int(width),
                                  batch_size=len(prompts))
        samples = []
        for i, labels in enumerate(out['labels']):
            sample = SegDataSample(metainfo=dict(
                target_shares=target_shares[i].tolist(), prompt=prompts[i],
                seed=seeds[i], sample_id=ids[i]))
            sample.pred_sem_seg = PixelData(
                data=torch.from_numpy(labels.astype(np.int64))[None])
            samples.append(sample)
        return samples

    def prompts_from_shares(self, class_shares) -> List[str]:
        """Share text prompts (``building: 30%, ...``) from share rows."""
        return [format_class_shares(row, self.classes) for row in class_shares]

    @torch.no_grad()
    def generate_masks(self,
                       prompts: Optional[Sequence[str]] = None,
                       seeds: Sequence[int] = (0,),
                       class_shares=None,
                       height: int = 512,
                       width: int = 512,
                       steps: Optional[int] = None,
                       guidance_scale: Optional[float] = None,
                       scheduler: Optional[str] = None,
                       batch_size: int = 8,
                       prop_guidance: Optional[dict] = None
                       ) -> Dict[str, np.ndarray]:
        """Generate colour masks and their class-index maps.

        Args:
            prompts: Text prompts, or None with ``class_shares`` (rows of
                shares in class order, or dicts class -> share), whose share
                text becomes the prompts.
            seeds: One seed per sample; sample ``i`` gives the same output
                whatever the batch it is in.
            height, width: Output size in pixels.
            steps, guidance_scale, scheduler: Sampling settings; defaults
                from ``inference_cfg``.
            batch_size: Samples per forward pass.
            class_shares: With ``prompts``, the target shares of a generator
                with numeric share conditioning (rows in class order, each
                summing to 1; a NaN row: no share condition); without, a
                share-conditioned generator reads them from the prompts'
                share text. Not used by a text-only generator.
            prop_guidance (dict, optional): Proportion guidance while
                sampling (see :meth:`proportion_guidance`): ``scale``
                (0 = off), ``max_timestep`` (guide the steps at or below
                it; default 400). Targets are the prompts' share text.

        Returns:
            dict: ``labels`` (N x H x W uint8: the class index 0..C-1 the
            generator's ``quantisation`` gives each pixel, or 255 where
            that is the reserved ignore colour), ``rgb`` (N x H x W x 3
            uint8 raw output; with a one-hot mask VAE, the labels in the
            palette colours) and ``prompts``.
        """
        if class_shares is not None and len(class_shares) and isinstance(
                class_shares[0], dict):
            class_shares = [[row.get(c, 0.0) for c in self.classes]
                            for row in class_shares]
        if prompts is None:
            if class_shares is None:
                raise ValueError('give prompts or class_shares')
            prompts = self.prompts_from_shares(class_shares)
        prompts = list(prompts)
        for i, prompt in enumerate(prompts):
            try:
                check_share_prompt(prompt, self.classes)
            except ValueError as e:
                raise ValueError(f'prompt {i} of generate_masks: {e}') from e

        def quantise(pixels: torch.Tensor):
            labels = self.quantise(pixels).cpu().numpy()
            if self.pixel_encoding == 'onehot':  # shown in the palette
                return index_to_rgb(labels, self.palette), labels
            return pixels.cpu().numpy(), labels

        guide = dict(prop_guidance or {})
        scale = float(guide.pop('scale', 0.0))
        # each context is told each batch's slice of the samples
        with contextlib.ExitStack() as stack:
            aims = []
            if self.share_conditioned:
                rows = check_share_vectors(
                    self.prompt_targets(prompts) if class_shares is None
                    else class_shares, prompts, self.classes)
                aims.append(stack.enter_context(unet_share_labels(
                    self.unet, inputs_of_rows(rows, self.unet.device))))
            if scale:
                aims.append(stack.enter_context(self.proportion_guidance(
                    self.prompt_targets(prompts), scale, **guide)))

            def on_batch(part):
                for aim in aims:
                    aim(part)

            rgb, labels = self.sample(
                prompts, seeds, height, width, steps, guidance_scale,
                scheduler, batch_size, postprocess=quantise,
                on_batch=on_batch)
        return dict(rgb=rgb, labels=labels, prompts=np.asarray(prompts))
