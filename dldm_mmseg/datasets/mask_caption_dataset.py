"""Real masks (+ images) with their captions, for generator training."""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from PIL import Image

from mmseg.registry import DATASETS
from dldm_mmseg.apis.captioning import load_captions
from dldm_mmseg.utils.label_stats import (class_shares, read_label_map,
                                          to_train_ids)
from dldm_mmseg.utils.palette import index_to_rgb
from dldm_mmseg.utils.prompts import (compose_prompt,  # noqa: F401
                                      format_class_shares, round_percents)
from dldm_mmseg.utils.source_dataset import (SourceDataset,
                                              source_dataset_defaults)


@DATASETS.register_module()
class MaskCaptionDataset(BaseDataset):
    """Colour masks, class labels, images and prompts of a real dataset.

    Reads an mmseg-format dataset and its ``captions.jsonl``
    (``tools/caption.py``). Each sample is a dict of:

    * ``mask``: ``3 x H x W`` float in [-1, 1], the label map rendered in the
      palette colours (ignored pixels in the palette's reserved
      :func:`~dldm_mmseg.utils.palette.ignore_colour`, black for Potsdam);
    * ``label``: ``H x W`` int64 class indices, 255 = ignore;
    * ``image``: ``3 x H x W`` float in [-1, 1] (with ``load_image``);
    * ``prompt``: the text condition, see ``prompt_order``;
    * ``target_shares``: ``C`` float32 class shares stated in the prompt;
    * ``sample_id``, and ``view``: the id with the crop box, flips and
      rotation applied (the key of the generators' ``cache_latents``).

    The same random crop, flips and 90-degree rotation go to mask, label and
    image (aerial scenes have no up).

    Args:
        data_root (str): Dataset root.
        captions (str): Captions file, relative to the root. Defaults to
            ``'captions.jsonl'``.
        source_dataset (str | dict): The real set giving classes, palette
            and ``reduce_zero_label``: a registered type or a dataset config
            with ``metainfo`` (see :mod:`dldm_mmseg.utils.source_dataset`).
            Required.
        crop_size (tuple[int, int], optional): Random crop ``(h, w)``;
            None keeps the full patch. Defaults to None.
        augment (bool): Random flips and rotations. Defaults to True.
        load_image (bool): Also load images (stage 2). Defaults to False.
        prompt_order (str): ``'shares'``, ``'caption'``, ``'shares+caption'``
            or ``'caption+shares'``. Defaults to ``'shares+caption'``.
        caption_dropout (float): Probability of dropping the caption part of
            the prompt. Defaults to 0.0.
        prompt_dropout (float): Probability of an empty prompt, for
            classifier-free guidance. Defaults to 0.0.
        allow_missing_captions (bool): Train on the captioned patches only
            when some label maps have no record, instead of raising.
            Defaults to False.
    """

    def __init__(self,
                 data_root: str,
                 captions: str = 'captions.jsonl',
                 source_dataset: Optional[SourceDataset] = None,
                 crop_size: Optional[Tuple[int, int]] = None,
                 augment: bool = True,
                 load_image: bool = False,
                 prompt_order: str = 'shares+caption',
                 caption_dropout: float = 0.0,
                 prompt_dropout: float = 0.0,
                 allow_missing_captions: bool = False,
                 **kwargs) -> None:
        if prompt_order not in ('shares', 'caption', 'shares+caption',
                                'caption+shares'):
            raise ValueError(f'prompt_order must be shares, caption, '
                             f'shares+caption or caption+shares, got '
                             f'{prompt_order!r}')
        source = source_dataset_defaults(source_dataset)
        self.classes = tuple(source['metainfo']['classes'])
        self.palette = np.asarray(source['metainfo']['palette'], np.uint8)
        self.reduce_zero_label = source['reduce_zero_label']
        self.captions_file = captions
        self.crop_size = tuple(crop_size) if crop_size else None
        self.augment = augment
        self.load_image = load_image
        self.prompt_order = prompt_order
        self.caption_dropout = caption_dropout
        self.prompt_dropout = prompt_dropout
        self.allow_missing_captions = allow_missing_captions
        super().__init__(data_root=data_root,
                         metainfo=dict(source['metainfo']), **kwargs)

    def load_data_list(self) -> List[dict]:
        """One entry per captions record; files are checked to exist."""
        path = self.captions_file if osp.isabs(self.captions_file) else \
            osp.join(self.data_root, self.captions_file)
        records = load_captions(path, self.classes)
        if not records:
            raise ValueError(f'{path} has no records; run tools/caption.py')
        data_list = []
        for sample_id, record in sorted(records.items()):
            info = dict(sample_id=sample_id,
                        seg_map_path=osp.join(self.data_root,
                                              record['seg_map_path']),
                        img_path=osp.join(self.data_root, record['img_path']),
                        share_text=record['share_text'],
                        caption=record.get('caption') or '',
                        target_shares=record['shares_array'].tolist())
            needed = ['seg_map_path'] + (['img_path'] if self.load_image
                                         else [])
            for key in needed:
                if not osp.isfile(info[key]):
                    raise FileNotFoundError(
                        f'{path}: patch {sample_id!r} names {info[key]}, '
                        'which does not exist; re-run tools/caption.py '
                        '--overwrite on the current dataset')
            data_list.append(info)
        self._check_all_patches_captioned(path, data_list)
        return data_list

    def _check_all_patches_captioned(self, path: str,
                                     data_list: List[dict]) -> None:
        """Every label map in the captioned folders must have a record:
        a missing one means captions.jsonl is older than the dataset."""
        listed = {info['seg_map_path'] for info in data_list}
        folders = {osp.dirname(p) for p in listed}
        suffixes = {osp.splitext(p)[1] for p in listed}
        missing = sorted(
            osp.join(folder, name) for folder in folders
            for name in os.listdir(folder)
            if osp.splitext(name)[1] in suffixes and not name.startswith('.')
            and osp.join(folder, name) not in listed)
        if missing and not self.allow_missing_captions:
            raise ValueError(
                f'{len(missing)} patch(es) have no record in {path}, e.g. '
                f'{missing[:3]}; run tools/caption.py on the dataset again '
                '(it adds the missing ones), or set '
                'allow_missing_captions=True to train without them')

    def _augment(self, arrays: Sequence[np.ndarray]
                 ) -> Tuple[List[np.ndarray], str]:
        """Crop, flip and rotate all arrays alike; also returns the view's
        name (crop box, flips, quarter turns), which the generators'
        ``cache_latents`` keys on."""
        height, width = arrays[0].shape[:2]
        for a in arrays[1:]:
            if a.shape[:2] != (height, width):
                raise ValueError(f'mask and image sizes differ: '
                                 f'{arrays[0].shape[:2]} vs {a.shape[:2]}')
        y, x, ch, cw = 0, 0, height, width
        if self.crop_size:
            ch, cw = self.crop_size
            if ch > height or cw > width:
                raise ValueError(f'crop_size {self.crop_size} is larger than '
                                 f'the {height}x{width} patches')
            y = np.random.randint(0, height - ch + 1)
            x = np.random.randint(0, width - cw + 1)
            arrays = [a[y:y + ch, x:x + cw] for a in arrays]
        flip_w = flip_h = False
        turns = 0
        if self.augment:
            flip_w = np.random.rand() < 0.5
            if flip_w:
                arrays = [a[:, ::-1] for a in arrays]
            flip_h = np.random.rand() < 0.5
            if flip_h:
                arrays = [a[::-1] for a in arrays]
            turns = np.random.randint(4)
            arrays = [np.rot90(a, turns) for a in arrays]
        view = f'{y},{x},{ch}x{cw},{int(flip_w)}{int(flip_h)}{turns}'
        return [np.ascontiguousarray(a) for a in arrays], view

    def prepare_data(self, idx: int) -> dict:
        info = self.get_data_info(idx)
        label = to_train_ids(read_label_map(info['seg_map_path']),
                             self.reduce_zero_label)
        arrays = [label]
        if self.load_image:
            arrays.append(np.asarray(
                Image.open(info['img_path']).convert('RGB')))
        arrays, view = self._augment(arrays)
        label = arrays[0]
        if (label[label != 255] >= len(self.classes)).any():
            raise ValueError(f'{info["seg_map_path"]} has labels outside the '
                             f'{len(self.classes)} classes')
        mask = index_to_rgb(label, self.palette)  # ignore: reserved colour
        share_text, shares = info['share_text'], info['target_shares']
        if self.crop_size:
            # The prompt must state the shares of what the model sees.
            crop_shares = class_shares(label, len(self.classes))
            if crop_shares.sum() > 0:
                shares = round_percents(crop_shares) / 100.0
                share_text = format_class_shares(crop_shares, self.classes)
        caption = info['caption']
        if np.random.rand() < self.caption_dropout:
            caption = ''
        prompt = compose_prompt(share_text, caption, self.prompt_order)
        if np.random.rand() < self.prompt_dropout:
            prompt = ''
        sample = dict(
            mask=to_unit_range(mask),
            label=torch.from_numpy(label.astype(np.int64)),
            prompt=prompt,
            target_shares=torch.tensor(shares, dtype=torch.float32),
            sample_id=info['sample_id'],
            view=f'{info["sample_id"]}@{view}')
        if self.load_image:
            sample['image'] = to_unit_range(arrays[1])
        return sample


def to_unit_range(rgb: Union[np.ndarray, torch.Tensor]) -> torch.Tensor:
    """``H x W x 3`` uint8 -> ``3 x H x W`` float32 in [-1, 1]."""
    # a float copy: arrays read from PIL images are not writable
    tensor = torch.as_tensor(np.asarray(rgb, dtype=np.float32)
                             if not torch.is_tensor(rgb) else rgb.float())
    return tensor.permute(2, 0, 1) / 127.5 - 1.0
