"""A synthetic segmentation set on disk, written by ``tools/synthesize.py``."""
import os
import os.path as osp
from typing import List, Optional

import numpy as np
from PIL import Image

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from dldm_mmseg.datasets.synth_layout import ANN_DIR, IMG_DIR, MANIFEST
from dldm_mmseg.registry import SET_BUILDERS
from dldm_mmseg.utils.io import read_jsonl
from dldm_mmseg.utils.label_stats import (class_counts, class_proportion_error,
                                          read_label_map, to_train_ids)
from dldm_mmseg.utils.prompts import shares_to_array
from dldm_mmseg.utils.source_dataset import (  # noqa: F401 (re-exported)
    SourceDataset, dataset_label, source_dataset_defaults)

MANIFEST_HELP = ('build or complete it with `python tools/synthesize.py '
                 'CONFIG --out DATA_ROOT` (same --out resumes a killed run), '
                 'or give the dataset synthesis=dict(config=..., num=...)')


@DATASETS.register_module()
class DiffusionSynthDataset(BaseSegDataset):
    """Generated image/mask pairs with a manifest, next to a real set.

    The folder ``data_root`` is in the layout of
    :mod:`~dldm_mmseg.datasets.synth_layout`, which the synthesis engine
    writes. Each manifest record has at least ``id``;
    ``tools/synthesize.py`` also writes ``seed``, ``prompt``,
    ``target_shares`` and ``measured_shares`` (``{class: fraction}``),
    ``cpe`` (class-proportion error, percent) and filter results. The
    manifest and the files must agree: a record without files means an
    incomplete run, a file without a record means the folder holds
    something else; both are errors with the fix named.

    Classes, palette and label encoding are taken from the real set's
    dataset type (``source_dataset``), so the two sets concatenate in
    ``ConcatDataset`` and are read by the same pipeline.

    Args:
        source_dataset (str | dict): The real set whose metainfo and
            ``reduce_zero_label`` this set shares: a registered type
            (``'PotsdamDataset'``) or a dataset config with ``metainfo``
            (see :mod:`dldm_mmseg.utils.source_dataset`). Required.
        manifest (str): Manifest file, relative to ``data_root``. Defaults
            to ``'manifest.jsonl'``.
        max_samples (int, optional): Keep at most this many samples (in id
            order, after filtering). Defaults to None (all).
        filter_cfg (dict, optional): Manifest-based filters:
            ``max_cpe`` (float, percent): drop samples whose measured shares
            miss the target by more than this (mean over classes);
            ``min_shares`` (dict class -> fraction): keep samples with at
            least these measured shares; ``where`` (dict field -> value):
            keep records whose fields equal the values. Defaults to None.
        verify (str): ``'header'`` checks every pair exists with equal image
            and mask sizes (reads headers only); ``'full'`` also reads each
            mask and checks its labels are in the class set; ``'none'``
            trusts the manifest. Defaults to ``'header'``.
        keep_inconsistent (bool): Keep pairs that failed the consistency
            check of ``tools/synthesize.py`` in ``'drop'`` mode. Defaults to
            False.
        synthesis (dict, optional): Make or complete the set in
            ``data_root`` before reading it: the arguments of a set builder
            (default type :class:`~dldm_mmseg.synthesis.set_builder.
            SyntheticSetBuilder`: ``config``, ``num``, ``options``,
            ``overwrite``, ``device``). Defaults to None (the folder is
            read as it is, e.g. a set made by ``tools/synthesize.py``).
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """

    def __init__(self,
                 source_dataset: Optional[SourceDataset] = None,
                 manifest: str = MANIFEST,
                 max_samples: Optional[int] = None,
                 filter_cfg: Optional[dict] = None,
                 verify: str = 'header',
                 keep_inconsistent: bool = False,
                 synthesis: Optional[dict] = None,
                 data_prefix: dict = dict(img_path=IMG_DIR,
                                          seg_map_path=ANN_DIR),
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 metainfo: Optional[dict] = None,
                 reduce_zero_label: Optional[bool] = None,
                 indices=None,
                 **kwargs) -> None:
        if verify not in ('none', 'header', 'full'):
            raise ValueError(f'verify must be none, header or full, got '
                             f'{verify!r}')
        if max_samples is not None and max_samples <= 0:
            raise ValueError(f'max_samples must be > 0, got {max_samples}')
        source = source_dataset_defaults(source_dataset)
        self.source_dataset = source_dataset
        self.manifest = manifest
        self.verify = verify
        self.keep_inconsistent = keep_inconsistent
        self.synthesis = dict(synthesis) if synthesis else None
        if self.synthesis and not kwargs.get('data_root'):
            raise ValueError('DiffusionSynthDataset synthesis=... makes the '
                             'set in data_root: give data_root')
        # One label encoding with the real set: its classes, in its order.
        # A palette may be overridden (for visualisation), classes may not.
        merged = dict(source['metainfo'], **(metainfo or {}))
        if list(merged['classes']) != list(source['metainfo']['classes']):
            raise ValueError(
                f'metainfo classes {list(merged["classes"])} differ from '
                f'{dataset_label(source_dataset)} classes '
                f'{list(source["metainfo"]["classes"])}'
                '; a synthetic set shares the real set\'s label encoding, so '
                'set source_dataset to the real set instead')
        if reduce_zero_label is None:
            reduce_zero_label = source['reduce_zero_label']
        if indices is None and max_samples is not None:
            indices = max_samples
        super().__init__(
            data_prefix=data_prefix,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            metainfo=merged,
            reduce_zero_label=reduce_zero_label,
            filter_cfg=filter_cfg,
            indices=indices,
            **kwargs)

    # -- loading -----------------------------------------------------------
    def _manifest_path(self) -> str:
        if self.data_root is not None and not osp.isabs(self.manifest):
            return osp.join(self.data_root, self.manifest)
        return self.manifest

    def load_data_list(self) -> List[dict]:
        """Read the manifest and check it against the files on disk.

        With ``synthesis`` set, the set is first made or completed (the
        builder comes from :data:`~dldm_mmseg.registry.SET_BUILDERS`, so
        this module does not import the synthesis engine).
        """
        if self.synthesis:
            options = dict(self.synthesis)
            kind = options.pop('type', 'SyntheticSetBuilder')
            builder_class = SET_BUILDERS.get(kind)
            if builder_class is None:
                raise KeyError(
                    f'synthesis type {kind!r} is not in SET_BUILDERS '
                    f'({sorted(SET_BUILDERS.module_dict)}); import the module '
                    'that registers it (custom_imports)')
            builder = builder_class(**options)
            # what this build made (``generated``: 0 when reused)
            self.synthesis_result = builder.ensure(self.data_root)
        manifest_path = self._manifest_path()
        img_dir = self.data_prefix['img_path']
        ann_dir = self.data_prefix['seg_map_path']
        if not osp.isfile(manifest_path):
            raise FileNotFoundError(
                f'synthetic set manifest {manifest_path} does not exist; '
                + MANIFEST_HELP)
        records = read_jsonl(manifest_path)
        if not records:
            raise ValueError(f'synthetic set {manifest_path} is empty; '
                             + MANIFEST_HELP)
        shares = records[0].get('target_shares')
        if isinstance(shares, dict) and \
                list(shares) != list(self.metainfo['classes']):
            raise ValueError(
                f'synthetic set {manifest_path} was made for the classes '
                f'{list(shares)}, not {list(self.metainfo["classes"])} of '
                f'{dataset_label(self.source_dataset)}: use a set '
                'synthesised for this dataset (another --out), or set '
                'source_dataset to the set it was made for')
        seen = set()
        data_list, missing = [], []
        for line_no, record in enumerate(records, 1):
            sample_id = record.get('id')
            if sample_id is None:
                raise ValueError(f'{manifest_path}:{line_no}: record has no '
                                 '"id" field; every sample needs one')
            sample_id = str(sample_id)
            if sample_id in seen:
                raise ValueError(f'{manifest_path}:{line_no}: id {sample_id!r}'
                                 ' appears twice; remove the duplicate line')
            seen.add(sample_id)
            info = dict(
                img_path=osp.join(img_dir, sample_id + self.img_suffix),
                seg_map_path=osp.join(ann_dir,
                                      sample_id + self.seg_map_suffix),
                label_map=self.label_map,
                reduce_zero_label=self.reduce_zero_label,
                seg_fields=[],
                sample_id=sample_id,
                manifest=record)
            if self.verify != 'none':
                for key in ('img_path', 'seg_map_path'):
                    if not osp.isfile(info[key]):
                        missing.append(info[key])
            data_list.append(info)
        if missing:
            raise ValueError(
                f'incomplete synthetic set: {len(missing)} file(s) named by '
                f'{manifest_path} are missing, e.g. {missing[:3]}; '
                + MANIFEST_HELP)
        if self.verify != 'none':
            self._check_no_strays(img_dir, seen, self.img_suffix,
                                  manifest_path)
            self._check_no_strays(ann_dir, seen, self.seg_map_suffix,
                                  manifest_path)
            for info in data_list:
                self._verify_pair(info)
        data_list.sort(key=lambda info: info['sample_id'])
        return data_list

    @staticmethod
    def _check_no_strays(folder: str, ids: set, suffix: str,
                         manifest_path: str) -> None:
        strays = sorted(name for name in os.listdir(folder)
                        if name.endswith(suffix)
                        and name[:-len(suffix)] not in ids)
        if strays:
            raise ValueError(
                f'{folder} holds {len(strays)} file(s) that {manifest_path} '
                f'does not list, e.g. {strays[:3]}: the manifest disagrees '
                'with the files. Delete the strays, or regenerate the set '
                'into an empty folder')

    def _verify_pair(self, info: dict) -> None:
        try:
            with Image.open(info['img_path']) as img:
                img_size = img.size
            with Image.open(info['seg_map_path']) as ann:
                ann_size = ann.size
        except OSError as e:
            raise OSError(f'cannot read a synthetic pair ({e}); delete '
                          f'{info["img_path"]} and its mask, then '
                          + MANIFEST_HELP) from e
        if img_size != ann_size:
            raise ValueError(
                f'image {info["img_path"]} is {img_size[0]}x{img_size[1]} but '
                f'its mask {info["seg_map_path"]} is {ann_size[0]}x'
                f'{ann_size[1]}; delete both and ' + MANIFEST_HELP)
        if self.verify == 'full':
            label = to_train_ids(read_label_map(info['seg_map_path']),
                                 self.reduce_zero_label, self.ignore_index)
            class_counts(label, len(self._metainfo['classes']),
                         self.ignore_index, info['seg_map_path'],
                         self.reduce_zero_label)

    # -- filtering ---------------------------------------------------------
    def _record_shares(self, record: dict, key: str) -> Optional[np.ndarray]:
        shares = record.get(key)
        if shares is None:
            return None
        return shares_to_array(shares, self._metainfo['classes'])

    def _record_cpe(self, record: dict) -> float:
        if record.get('cpe') is not None:
            return float(record['cpe'])
        target = self._record_shares(record, 'target_shares')
        measured = self._record_shares(record, 'measured_shares')
        if target is None or measured is None:
            raise KeyError(
                f'filter max_cpe needs "cpe" or both "target_shares" and '
                f'"measured_shares" in each record of {self._manifest_path()}'
                f'; sample {record.get("id")!r} has neither')
        return float(class_proportion_error(measured, target).mean())

    def filter_data(self) -> List[dict]:
        """Apply ``filter_cfg`` (``max_cpe``, ``min_shares``, ``where``)."""
        cfg = dict(self.filter_cfg or {})
        if not self.keep_inconsistent:
            # pairs the consistency check failed in 'drop' mode
            self.data_list = [
                info for info in self.data_list
                if info['manifest'].get('consistency_mode') != 'drop'
                or info['manifest'].get('consistency_passed', True)]
            if not self.data_list:
                raise ValueError(
                    f'every sample of {self._manifest_path()} failed the '
                    'consistency check; synthesise with a looser '
                    'max_disagreement, or set keep_inconsistent=True')
        unknown = set(cfg) - {'max_cpe', 'min_shares', 'where'}
        if unknown:
            raise KeyError(f'unknown filter_cfg keys {sorted(unknown)} for '
                           'DiffusionSynthDataset; use max_cpe, min_shares, '
                           'where')
        if not cfg:
            return self.data_list
        classes = self._metainfo['classes']
        min_shares = None
        if cfg.get('min_shares'):
            min_shares = shares_to_array(cfg['min_shares'], classes)
        kept = []
        for info in self.data_list:
            record = info['manifest']
            if cfg.get('max_cpe') is not None and \
                    self._record_cpe(record) > cfg['max_cpe']:
                continue
            if min_shares is not None:
                measured = self._record_shares(record, 'measured_shares')
                if measured is None:
                    raise KeyError(f'filter min_shares needs "measured_shares"'
                                   f' in {self._manifest_path()} (sample '
                                   f'{record.get("id")!r})')
                if np.any(measured < min_shares):
                    continue
            if any(record.get(k) != v
                   for k, v in (cfg.get('where') or {}).items()):
                continue
            kept.append(info)
        if not kept:
            raise ValueError(f'filter_cfg={cfg} removed all '
                             f'{len(self.data_list)} samples of '
                             f'{self._manifest_path()}; loosen the filter')
        return kept
