"""Real masks (+ images) with their captions, for generator training."""
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

from mmseg.registry import DATASETS, TRANSFORMS
from dldm_mmseg.datasets.captioning import load_captions
from dldm_mmseg.datasets.transforms import default_pipeline
from dldm_mmseg.utils.source_dataset import (SourceDataset,
                                             source_dataset_defaults)


@DATASETS.register_module()
class MaskCaptionDataset(BaseDataset):
    """Colour masks, class labels, images and prompts of a real dataset.

    Reads an mmseg-format dataset and its ``captions.jsonl``
    (``tools/caption.py``) and runs each record through an mmseg transform
    pipeline ending in
    :class:`~dldm_mmseg.datasets.transforms.PackGeneratorInputs`, which
    makes a sample of:

    * ``mask``: ``3 x H x W`` float in [-1, 1], the label map rendered in the
      palette colours (ignored pixels in the palette's reserved
      :func:`~dldm_mmseg.utils.palette.ignore_colour`, black for Potsdam);
    * ``label``: ``H x W`` int64 class indices, 255 = ignore;
    * ``image``: ``3 x H x W`` float in [-1, 1] (stage 2);
    * ``prompt``: the text condition, see ``prompt_order``;
    * ``target_shares``: ``C`` float32 class shares stated in the prompt;
    * ``sample_id``, and ``view``: the id with a digest of the sample's
      pixels (the key of the generators' ``cache_latents``).

    Without ``pipeline`` the dataset builds the usual one from the short
    arguments below (:func:`~dldm_mmseg.datasets.transforms.
    default_pipeline`): mmseg's ``LoadAnnotations``, ``LoadImageFromFile``
    (``load_image``), ``RandomCrop`` (``crop_size``) and two ``RandomFlip``
    plus a random quarter turn (``augment``; aerial scenes have no up),
    the same for mask, label and image. A ``pipeline`` is run as given;
    the short arguments then stay at their defaults.

    Args:
        data_root (str): Dataset root.
        captions (str): Captions file, relative to the root. Defaults to
            ``'captions.jsonl'``.
        source_dataset (str | dict): The real set giving classes, palette
            and ``reduce_zero_label``: a registered type or a dataset config
            with ``metainfo`` (see :mod:`dldm_mmseg.utils.source_dataset`).
            Required.
        pipeline (list[dict], optional): mmseg transforms ending in
            ``PackGeneratorInputs``. Defaults to the pipeline of the short
            arguments.
        crop_size (tuple[int, int], optional): Random crop ``(h, w)``;
            None keeps the full patch. Defaults to None.
        augment (bool): Random flips and quarter turns. Defaults to True.
        load_image (bool): Also load images (stage 2; their files must
            exist). Defaults to False.
        prompt_order (str): ``'shares'``, ``'caption'``, ``'shares+caption'``
            or ``'caption+shares'``. Defaults to ``'shares+caption'``.
        caption_dropout (float): Probability of dropping the caption part of
            the prompt. Defaults to 0.0.
        prompt_dropout (float): Probability of an empty prompt, for
            classifier-free guidance. Defaults to 0.0.
        allow_missing_captions (bool): Train on the captioned patches only
            when some label maps have no record, instead of raising.
            Defaults to False.
        subset (dict, optional): Keep ``num`` patches spread evenly over
            the scene tiles they were cut from, drawn with ``seed``: a
            validation subset that sees every tile (mmengine's ``indices``
            takes the first ones, mostly of the first tile). A patch's tile
            is the first group of the ``group`` regex on its id; the
            default reads ISPRS ids ``<tile>_<x0>_<y0>_<x1>_<y1>`` and
            ``tools/prepare_raster.py`` ids ``<scene>_r<row>_c<col>``.
            Defaults to None (every patch).
    """

    #: the short arguments and their defaults (see ``default_pipeline``)
    PIPELINE_ARGS = dict(crop_size=None, augment=True,
                         prompt_order='shares+caption', caption_dropout=0.0,
                         prompt_dropout=0.0)

    def __init__(self,
                 data_root: str,
                 captions: str = 'captions.jsonl',
                 source_dataset: Optional[SourceDataset] = None,
                 pipeline: Optional[List[dict]] = None,
                 crop_size: Optional[Tuple[int, int]] = None,
                 augment: bool = True,
                 load_image: bool = False,
                 prompt_order: str = 'shares+caption',
                 caption_dropout: float = 0.0,
                 prompt_dropout: float = 0.0,
                 allow_missing_captions: bool = False,
                 subset: Optional[dict] = None,
                 **kwargs) -> None:
        short = dict(crop_size=crop_size, augment=augment,
                     prompt_order=prompt_order,
                     caption_dropout=caption_dropout,
                     prompt_dropout=prompt_dropout)
        if pipeline:
            changed = sorted(k for k, v in short.items()
                             if v != self.PIPELINE_ARGS[k])
            if changed:
                raise ValueError(
                    f'MaskCaptionDataset got a pipeline and {changed}: '
                    'these build the default pipeline; with your own, set '
                    'them in its RandomCrop / RandomFlip / '
                    'PackGeneratorInputs transforms instead')
        else:  # PackGeneratorInputs checks prompt_order
            pipeline = default_pipeline(load_image=load_image, **short)
        source = source_dataset_defaults(source_dataset)
        self.classes = tuple(source['metainfo']['classes'])
        self.palette = np.asarray(source['metainfo']['palette'], np.uint8)
        self.reduce_zero_label = source['reduce_zero_label']
        self.captions_file = captions
        self.load_image = load_image
        self.allow_missing_captions = allow_missing_captions
        self.subset = dict(subset) if subset else None
        if self.subset and int(self.subset.get('num', 0)) < 1:
            raise ValueError(f'MaskCaptionDataset subset={subset!r}: give '
                             'num >= 1 patches')
        # the records are a few strings per patch (a few MB for Potsdam), so
        # serialising them for worker processes saves next to nothing, and
        # it calls gc.collect(), which is slow in a process that holds
        # diffusion models
        kwargs.setdefault('serialize_data', False)
        # built from mmseg's registry (its transforms and ours), whatever
        # the default scope of the caller
        with DefaultScope.overwrite_default_scope('mmseg'):
            pipeline = [TRANSFORMS.build(t) if isinstance(t, dict) else t
                        for t in pipeline]
        super().__init__(data_root=data_root, pipeline=pipeline,
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
        if self.subset:
            data_list = spread_over_tiles(data_list, **self.subset)
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

    def prepare_data(self, idx: int) -> dict:
        """The sample's record plus what the transforms read (palette,
        classes, label encoding), through the pipeline."""
        results = self.get_data_info(idx)
        results.update(palette=self.palette, classes=self.classes,
                       num_classes=len(self.classes),
                       reduce_zero_label=self.reduce_zero_label,
                       seg_fields=[])
        return self.pipeline(results)


#: the tile of an ISPRS patch id or a prepare_raster tile id
TILE_OF_PATCH = r'^(.*?)(?:(?:_\d+){4}|_r\d+_c\d+)$'


def spread_over_tiles(data_list: List[dict], num: int, seed: int = 0,
                      group: str = TILE_OF_PATCH) -> List[dict]:
    """``num`` entries drawn in turn from each tile (tiles and patches in a
    seeded order), so every tile is seen before any is seen twice; in id
    order. All entries when there are no more than ``num``."""
    if len(data_list) <= num:
        return data_list
    tiles = {}
    for info in data_list:
        match = re.match(group, info['sample_id'])
        tiles.setdefault(match.group(1) if match else '', []).append(info)
    rng = np.random.default_rng(seed)
    queues = [list(rng.permutation(len(members))) for members in
              tiles.values()]
    members = list(tiles.values())
    order = list(rng.permutation(len(members)))
    chosen = []
    while len(chosen) < num:
        for t in order:
            if queues[t] and len(chosen) < num:
                chosen.append(members[t][queues[t].pop()])
    return sorted(chosen, key=lambda info: info['sample_id'])
