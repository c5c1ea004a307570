"""The paper's random-oversampling baseline: extra draws of real patches
that contain rare classes."""
import bisect
from typing import List, Optional, Sequence, Sized, Tuple

import numpy as np
from mmengine.logging import MMLogger

from mmseg.registry import DATA_SAMPLERS
from dldm_mmseg.utils.label_stats import (class_counts, read_label_map,
                                          to_train_ids)
from dldm_mmseg.utils.progress import progress_bar
from .ratio_base import _InfiniteMixin, _RatioSampler, split_real_synthetic


def real_part(dataset: Sized, real_indices: np.ndarray) -> Sized:
    """The dataset that holds the real samples: ``dataset`` itself, or
    the part of a ``ConcatDataset`` (nested ones too) that holds the first
    of ``real_indices``."""
    index = int(real_indices[0]) if len(real_indices) else 0
    while hasattr(dataset, 'cumulative_sizes') and dataset.datasets:
        part = bisect.bisect_right(dataset.cumulative_sizes, index)
        if part:
            index -= dataset.cumulative_sizes[part - 1]
        dataset = dataset.datasets[part]
    return dataset


def rare_patch_indices(dataset: Sized, real_indices: np.ndarray,
                       rare_classes: Optional[Sequence[str]],
                       rare_share_thr: float, min_share: float
                       ) -> Tuple[np.ndarray, List[str]]:
    """Real samples whose label map holds a rare class above ``min_share``.

    Reads every label map once (with a progress bar). Rare classes are the
    named ones, or those below ``rare_share_thr`` of all valid pixels.
    """
    meta = dataset.metainfo
    classes = list(meta['classes'])
    real = real_part(dataset, real_indices)
    ignore_index = getattr(real, 'ignore_index', 255)
    # mmseg datasets put it in each sample's info; a stage-1 dataset
    # (MaskCaptionDataset) holds it for all its samples
    default_reduce = getattr(real, 'reduce_zero_label', False)
    logger = MMLogger.get_current_instance()
    shares = np.zeros((len(real_indices), len(classes)))
    logger.info(f'reading {len(real_indices)} label maps to find '
                'rare-class patches to oversample')
    progress = progress_bar(len(real_indices), 'label maps read')
    for row, index in enumerate(real_indices):
        info = dataset.get_data_info(int(index))
        reduce_zero_label = info.get('reduce_zero_label', default_reduce)
        label = to_train_ids(read_label_map(info['seg_map_path']),
                             reduce_zero_label, ignore_index)
        shares[row] = class_counts(label, len(classes), ignore_index,
                                   info['seg_map_path'], reduce_zero_label)
        progress.update()
    pixel_share = shares.sum(0) / max(shares.sum(), 1)
    shares = shares / np.maximum(shares.sum(1, keepdims=True), 1)
    if rare_classes is None:
        rare = [c for c, s in zip(classes, pixel_share) if s < rare_share_thr]
    else:
        unknown = set(rare_classes) - set(classes)
        if unknown:
            raise ValueError(f'rare_classes {sorted(unknown)} are not classes '
                             f'of the dataset {classes}')
        rare = list(rare_classes)
    columns = [classes.index(c) for c in rare]
    hit = (shares[:, columns] >= max(min_share, 1e-12)).any(1) if columns \
        else np.zeros(len(real_indices), dtype=bool)
    logger.info('pixel shares: ' + ', '.join(
        f'{c} {s:.1%}' for c, s in zip(classes, pixel_share)) +
        f'; rare classes {rare}; {int(hit.sum())} patches contain them')
    return real_indices[hit], rare


def no_rare_patch_message(rare_args: tuple, rare: Sequence[str]) -> str:
    """Why no patch could be oversampled, and the settings that change it
    (``rare_args``: ``rare_classes, rare_share_thr, min_share``)."""
    rare_classes, thr, min_share = rare_args
    return (f'no training patch holds the rare classes '
            f'{list(rare) or rare_classes} at a share >= {min_share} (rare: '
            f'below {thr} of all pixels); lower min_share or name '
            'rare_classes explicitly')


@DATA_SAMPLERS.register_module()
class ClassAwareOversampler(_RatioSampler):
    """Random oversampling of rare-class patches (the paper's baseline).

    Each epoch holds every real sample once plus ``round(oversample_ratio
    * N_real)`` repeated draws of patches that contain a rare class, so it
    is compared with :class:`MixedRatioSampler` at the same epoch size
    ("oversampling 40% samples" = ``oversample_ratio=0.4``). Draws go
    through the rare patches without replacement before repeating any.

    Args:
        dataset (Sized): The real training set.
        oversample_ratio (float): Extra draws per epoch as a fraction of the
            real count, >= 0. Defaults to 0.4.
        rare_classes (Sequence[str], optional): Class names to enrich.
            Defaults to the classes below ``rare_share_thr`` of the pixels.
        rare_share_thr (float): Pixel share under which a class is rare when
            ``rare_classes`` is not given. Defaults to 0.05.
        min_share (float): A patch contains a class when the class covers at
            least this share of its valid pixels. Defaults to 0.01.
        resample (bool): Draw afresh each epoch. Defaults to True.
        shuffle (bool): Shuffle each epoch. Defaults to True.
        seed (int, optional): Seed shared by all ranks.
        round_up (bool): Pad to a multiple of the world size. Defaults to
            True.
    """

    _ratio_name = 'oversample_ratio'

    def __init__(self,
                 dataset: Sized,
                 oversample_ratio: float = 0.4,
                 rare_classes: Optional[Sequence[str]] = None,
                 rare_share_thr: float = 0.05,
                 min_share: float = 0.01,
                 resample: bool = True,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        self._rare_args = (rare_classes, rare_share_thr, min_share)
        self.rare_classes: List[str] = []
        super().__init__(dataset, oversample_ratio, resample, shuffle, seed,
                         round_up)

    def _split(self, dataset):
        real, _ = split_real_synthetic(dataset, synthetic_datasets=[])
        if self.ratio == 0:
            return real, real[:0]
        pool, self.rare_classes = rare_patch_indices(dataset, real,
                                                     *self._rare_args)
        return real, pool

    def _empty_pool_message(self) -> str:
        return no_rare_patch_message(self._rare_args, self.rare_classes)


@DATA_SAMPLERS.register_module()
class InfiniteClassAwareOversampler(_InfiniteMixin, ClassAwareOversampler):
    """:class:`ClassAwareOversampler` as an endless stream, for
    ``IterBasedTrainLoop``."""
