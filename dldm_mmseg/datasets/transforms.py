"""The transforms that, with mmseg's own, make a generator training sample
(:class:`~dldm_mmseg.datasets.MaskCaptionDataset`'s pipeline).

A stage-1 pipeline (masks only)::

    [dict(type='LoadAnnotations'),             # gt_seg_map, train ids
     dict(type='RenderPaletteMask'),           # img = the map in colours
     dict(type='CheckPatchSize', crop_size=(512, 512)),
     dict(type='RandomCrop', crop_size=(512, 512)),
     dict(type='RandomFlip', prob=0.5, direction='horizontal'),
     dict(type='RandomFlip', prob=0.5, direction='vertical'),
     dict(type='RandomQuarterTurn'),
     dict(type='PackGeneratorInputs', prompt_order='shares+caption')]

Stage 2 loads the aerial image as ``img`` instead of rendering one
(``dict(type='LoadImageFromFile', imdecode_backend='pillow')``) and packs
it (``PackGeneratorInputs(with_image=True)``). The stock transforms move
``img`` and ``gt_seg_map`` alike; the colour mask a generator sees is
rendered from the final ``gt_seg_map`` when the sample is packed. The
dataset puts ``palette``, ``num_classes``, ``reduce_zero_label`` and the
record's ``share_text``, ``target_shares`` and ``caption`` into each
sample's results. Label maps are read as mmseg reads them (8-bit class
indices).
"""
import hashlib
from typing import Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from dldm_mmseg.utils.label_stats import class_shares
from dldm_mmseg.utils.palette import index_to_rgb
from dldm_mmseg.utils.prompts import (compose_prompt, format_class_shares,
                                      round_percents)

PROMPT_ORDERS = ('shares', 'caption', 'shares+caption', 'caption+shares')


def _label_map(results: dict) -> np.ndarray:
    """``gt_seg_map`` as a 2-D array, or an error naming the file."""
    label = results['gt_seg_map']
    if label.ndim != 2:
        raise ValueError(
            f'{results.get("seg_map_path")} is not a single-channel label '
            f'map (shape {label.shape}); convert colour masks to class '
            'indices first (tools/prepare_potsdam.py does for ISPRS)')
    return label


@TRANSFORMS.register_module()
class RenderPaletteMask(BaseTransform):
    """``img`` = ``gt_seg_map`` in the palette's colours (ignore pixels in
    the reserved :func:`~dldm_mmseg.utils.palette.ignore_colour`).

    The colour mask is what stage 1 learns to draw, so it is that stage's
    image: rendering it as ``img`` lets mmseg's crop, flip and rotation
    transforms (which all move ``img``) run on a masks-only sample. Sets
    ``img_shape`` and ``ori_shape`` as an image loader would.
    """

    def transform(self, results: dict) -> dict:
        label = _label_map(results)
        results['img'] = index_to_rgb(label, results['palette'])
        results['img_shape'] = results['ori_shape'] = label.shape[:2]
        return results


@TRANSFORMS.register_module()
class CheckPatchSize(BaseTransform):
    """Fail early, naming the files, when a loaded image and its label map
    differ in size (a stock crop would cut both to the same window and
    hide it), or when the patch is smaller than ``crop_size`` (mmseg's
    ``RandomCrop`` would silently return the smaller patch, and batches
    of mixed sizes fail far from the cause).

    Args:
        crop_size (tuple[int, int], optional): The crop that follows.
    """

    def __init__(self, crop_size: Optional[tuple] = None) -> None:
        self.crop_size = tuple(crop_size) if crop_size else None

    def transform(self, results: dict) -> dict:
        label = _label_map(results)
        if 'img' in results and results['img'].shape[:2] != label.shape:
            raise ValueError(
                f'{results.get("img_path")} and {results["seg_map_path"]} '
                f'differ in size ({results["img"].shape[:2]} vs '
                f'{label.shape}); an image and its label map must match')
        if self.crop_size and (self.crop_size[0] > label.shape[0]
                               or self.crop_size[1] > label.shape[1]):
            raise ValueError(
                f'crop_size {self.crop_size} is larger than the '
                f'{label.shape[0]}x{label.shape[1]} patch '
                f'{results["seg_map_path"]}; use at most {label.shape}')
        return results


@TRANSFORMS.register_module()
class RandomQuarterTurn(BaseTransform):
    """Rotate ``img`` and every ``seg_fields`` map by ``k`` x 90 degrees,
    ``k`` drawn uniformly from 0..3 (``np.random.randint(4)``): aerial
    scenes have no up, and quarter turns move pixels without resampling.
    With two random flips before it, every one of the 8 symmetries of the
    square is drawn equally often. Records ``quarter_turns``."""

    def transform(self, results: dict) -> dict:
        turns = int(np.random.randint(4))
        results['img'] = np.rot90(results['img'], turns)
        for key in results.get('seg_fields', []):
            results[key] = np.rot90(results[key], turns)
        results['img_shape'] = results['img'].shape[:2]
        results['quarter_turns'] = turns
        return results


@TRANSFORMS.register_module()
class PackGeneratorInputs(BaseTransform):
    """The training sample of a generator, from the transformed results.

    Packs:

    * ``mask``: ``3 x H x W`` float in [-1, 1], the final ``gt_seg_map``
      rendered in the palette colours (ignore in its reserved colour);
    * ``label``: ``H x W`` int64 class indices, 255 = ignore;
    * ``image`` (``with_image``): ``img`` as ``3 x H x W`` RGB float in
      [-1, 1] (mmcv's loaders give BGR, as everywhere in mmseg);
    * ``prompt`` and ``target_shares``: the shares the prompt states. When
      a transform changed the map's size (a crop), they are measured on
      what the model sees, not taken from the whole patch's caption;
    * ``sample_id``, and ``view``: the id with a digest of the packed
      pixels, which the generators' ``cache_latents`` keys on (the same
      view of a patch always has the same pixels, whatever the pipeline).

    Args:
        with_image (bool): Pack ``img`` as ``image`` (stage 2). Defaults to
            False.
        prompt_order (str): ``'shares'``, ``'caption'``, ``'shares+caption'``
            or ``'caption+shares'``. Defaults to ``'shares+caption'``.
        caption_dropout (float): Probability of dropping the caption part
            of the prompt. Defaults to 0.0.
        prompt_dropout (float): Probability of an empty prompt, for
            classifier-free guidance. Defaults to 0.0.
    """

    def __init__(self, with_image: bool = False,
                 prompt_order: str = 'shares+caption',
                 caption_dropout: float = 0.0,
                 prompt_dropout: float = 0.0) -> None:
        if prompt_order not in PROMPT_ORDERS:
            raise ValueError(f'prompt_order must be one of {PROMPT_ORDERS}, '
                             f'got {prompt_order!r}')
        self.with_image = with_image
        self.prompt_order = prompt_order
        self.caption_dropout = caption_dropout
        self.prompt_dropout = prompt_dropout

    def transform(self, results: dict) -> dict:
        label = _label_map(results).astype(np.int64, order='C')
        num_classes = results['num_classes']
        if (label[label != 255] >= num_classes).any():
            raise ValueError(f'{results["seg_map_path"]} has labels outside '
                             f'the {num_classes} classes')
        share_text, shares = results['share_text'], results['target_shares']
        if label.size != np.prod(results.get('ori_shape', label.shape)[:2]):
            # a crop: the prompt must state the shares of what the model
            # sees (flips and turns keep the shares)
            seen = class_shares(label, num_classes)
            if seen.sum() > 0:
                shares = round_percents(seen) / 100.0
                share_text = format_class_shares(seen, results['classes'])
        caption = results.get('caption') or ''
        if np.random.rand() < self.caption_dropout:
            caption = ''
        prompt = compose_prompt(share_text, caption, self.prompt_order)
        if np.random.rand() < self.prompt_dropout:
            prompt = ''
        digest = hashlib.blake2b(label.tobytes(), digest_size=8)
        packed = dict(
            mask=to_unit_range(index_to_rgb(label, results['palette'])),
            label=torch.from_numpy(label),
            prompt=prompt,
            target_shares=torch.tensor(shares, dtype=torch.float32),
            sample_id=results['sample_id'])
        if self.with_image:
            image = np.ascontiguousarray(results['img'][..., ::-1])
            if image.shape[:2] != label.shape:
                raise ValueError(
                    f'{results.get("img_path")}: image and label map sizes '
                    f'differ after the pipeline ({image.shape[:2]} vs '
                    f'{label.shape})')
            digest.update(image.tobytes())
            packed['image'] = to_unit_range(image)
        packed['view'] = f'{results["sample_id"]}@{digest.hexdigest()}'
        return packed


def to_unit_range(rgb) -> torch.Tensor:
    """``H x W x 3`` uint8 -> ``3 x H x W`` float32 in [-1, 1]."""
    # a float copy: arrays read from PIL images are not writable
    tensor = torch.as_tensor(np.asarray(rgb, dtype=np.float32)
                             if not torch.is_tensor(rgb) else rgb.float())
    return tensor.permute(2, 0, 1) / 127.5 - 1.0


def from_unit_range(pixels: torch.Tensor) -> torch.Tensor:
    """``... x 3 x H x W`` in [-1, 1] -> ``... x H x W x 3`` uint8 (the
    inverse of :func:`to_unit_range`, rounded), on the same device."""
    return ((pixels.float() + 1) * 127.5).round().clamp(0, 255).to(
        torch.uint8).movedim(-3, -1)


def default_pipeline(crop_size: Optional[tuple] = None, augment: bool = True,
                     load_image: bool = False, **pack) -> list:
    """The pipeline :class:`MaskCaptionDataset` runs when it is given none:
    labels, the image (``load_image``) or the rendered mask, the size
    checks, an optional random crop, random horizontal and vertical flips
    and a random quarter turn (``augment``), and the packing (``pack``:
    the arguments of :class:`PackGeneratorInputs`)."""
    pipeline = [dict(type='LoadAnnotations'),
                dict(type='LoadImageFromFile', imdecode_backend='pillow')
                if load_image else dict(type='RenderPaletteMask')]
    if load_image or crop_size:
        pipeline.append(dict(type='CheckPatchSize', crop_size=crop_size))
    if crop_size:
        pipeline.append(dict(type='RandomCrop', crop_size=tuple(crop_size)))
    if augment:
        pipeline += [dict(type='RandomFlip', prob=0.5,
                          direction='horizontal'),
                     dict(type='RandomFlip', prob=0.5, direction='vertical'),
                     dict(type='RandomQuarterTurn')]
    return pipeline + [dict(type='PackGeneratorInputs', with_image=load_image,
                            **pack)]
