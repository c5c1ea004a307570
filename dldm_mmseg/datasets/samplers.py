"""Samplers that mix real and extra samples at a ratio, per epoch.

Both samplers here build each epoch as *all real samples plus
``round(ratio * N_real)`` extra draws*, shuffled together, and split the
epoch across ranks like mmengine's ``DefaultSampler``:

* :class:`MixedRatioSampler` draws the extras from a synthetic set
  (``ratio`` is the paper's alpha = N_syn / N_real);
* :class:`ClassAwareOversampler` draws them from real patches that contain
  rare classes (the paper's random-oversampling baseline), so the two are
  compared at the same number of samples per epoch.

Randomness comes from ``numpy.random.default_rng([seed, epoch, stream])``,
so every rank computes the same epoch and takes a disjoint slice of it.
The ``Infinite*`` variants chain epochs into one stream for
``IterBasedTrainLoop`` (stock mmseg Potsdam configs are iteration-based).
"""
import itertools
import math
from typing import Iterator, List, Optional, Sequence, Sized, Tuple

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.logging import MMLogger
from torch.utils.data import Sampler

from mmseg.registry import DATA_SAMPLERS
from dldm_mmseg.utils.label_stats import (class_counts, read_label_map,
                                          to_train_ids)
from dldm_mmseg.utils.progress import progress_bar

_SHUFFLE_STREAM, _EXTRA_STREAM = 0, 1


def split_real_synthetic(dataset: Sized,
                         synthetic_datasets: Optional[Sequence[int]] = None
                         ) -> Tuple[np.ndarray, np.ndarray]:
    """Global indices of real and synthetic samples of a (concat) dataset.

    Args:
        dataset: A ``ConcatDataset`` of real and synthetic sets, or a single
            dataset (then all of it is real, unless it is synthetic itself).
        synthetic_datasets (Sequence[int], optional): Positions of the
            synthetic sets in ``dataset.datasets``. Defaults to the sets that
            are :class:`DiffusionSynthDataset` instances.
    """
    from .synth_dataset import DiffusionSynthDataset
    parts = getattr(dataset, 'datasets', None)
    if parts is None:
        indices = np.arange(len(dataset))
        if isinstance(dataset, DiffusionSynthDataset):
            return indices[:0], indices
        return indices, indices[:0]
    if synthetic_datasets is None:
        synthetic_datasets = [i for i, d in enumerate(parts)
                              if isinstance(d, DiffusionSynthDataset)]
    bad = [i for i in synthetic_datasets if not 0 <= i < len(parts)]
    if bad:
        raise ValueError(f'synthetic_datasets {bad} out of range for a '
                         f'ConcatDataset of {len(parts)} datasets')
    real, syn, start = [], [], 0
    for i, part in enumerate(parts):
        block = np.arange(start, start + len(part))
        (syn if i in synthetic_datasets else real).append(block)
        start += len(part)
    empty = np.arange(0)
    return (np.concatenate(real) if real else empty,
            np.concatenate(syn) if syn else empty)


class _RatioSampler(Sampler):
    """All real samples + ``round(ratio * N_real)`` extra draws per epoch.

    Subclasses say where the extras come from (:meth:`_extra_pool`).
    """

    _ratio_name = 'ratio'

    def __init__(self,
                 dataset: Sized,
                 ratio: float,
                 resample: bool = True,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        if ratio is None or not np.isfinite(ratio) or ratio < 0:
            raise ValueError(
                f'{self._ratio_name} must be a number >= 0, got {ratio!r}; '
                f'{self._ratio_name}=0.4 adds 40% of the real count per epoch')
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.ratio = float(ratio)
        self.resample = resample
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.round_up = round_up
        self.epoch = 0
        self.real_indices, self.pool = self._split(dataset)
        if len(self.real_indices) == 0:
            raise ValueError(f'{type(self).__name__} found no real samples in '
                             f'the dataset ({len(dataset)} samples)')
        self.num_extra = int(round(self.ratio * len(self.real_indices)))
        if self.num_extra > 0 and len(self.pool) == 0:
            raise ValueError(self._empty_pool_message())
        self.epoch_size = len(self.real_indices) + self.num_extra
        if round_up:
            self.num_samples = math.ceil(self.epoch_size / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil(
                (self.epoch_size - self.rank) / self.world_size)
            self.total_size = self.epoch_size

    def _split(self, dataset) -> Tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _empty_pool_message(self) -> str:
        raise NotImplementedError

    def _draw_extra(self, epoch: int) -> np.ndarray:
        """The epoch's extra draws: without replacement while the pool
        lasts, then another pass over a fresh permutation of the pool."""
        if self.num_extra == 0:
            return self.pool[:0]
        draw_epoch = epoch if self.resample else 0
        rng = np.random.default_rng([self.seed, draw_epoch, _EXTRA_STREAM])
        passes = math.ceil(self.num_extra / len(self.pool))
        order = np.concatenate([rng.permutation(self.pool)
                                for _ in range(passes)])
        return order[:self.num_extra]

    def epoch_indices(self, epoch: int) -> List[int]:
        """All indices of one epoch, identical on every rank."""
        indices = np.concatenate([self.real_indices, self._draw_extra(epoch)])
        if self.shuffle:
            rng = np.random.default_rng([self.seed, epoch, _SHUFFLE_STREAM])
            indices = rng.permutation(indices)
        return indices.tolist()

    def __iter__(self) -> Iterator[int]:
        indices = self.epoch_indices(self.epoch)
        if self.round_up:
            indices = (indices * math.ceil(self.total_size / len(indices))
                       )[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch; it seeds the shuffle and (``resample``) the
        extra draws."""
        self.epoch = epoch


class _InfiniteMixin:
    """Chain epochs ``epoch, epoch + 1, ...`` into one endless stream and
    give each rank every ``world_size``-th element of it."""

    def __iter__(self) -> Iterator[int]:

        def stream():
            for epoch in itertools.count(self.epoch):
                yield from self.epoch_indices(epoch)

        return itertools.islice(stream(), self.rank, None, self.world_size)


@DATA_SAMPLERS.register_module()
class MixedRatioSampler(_RatioSampler):
    """Real + synthetic samples at ratio alpha = N_syn / N_real per epoch.

    Each epoch holds every real sample once and ``round(syn_ratio *
    N_real)`` synthetic samples (``syn_ratio=1.0``: as many synthetic as
    real; the paper found 0.4 best), shuffled together. With
    ``resample_synthetic=True`` a larger synthetic pool is drawn afresh
    every epoch; with False the same subset is used in every epoch, as in
    a fixed mixed dataset. Use it on a ``ConcatDataset`` of the real set(s)
    and a :class:`DiffusionSynthDataset`::

        train_dataloader = dict(
            sampler=dict(type='MixedRatioSampler', syn_ratio=0.4),
            dataset=dict(type='ConcatDataset', datasets=[real, synthetic]))

    Args:
        dataset (Sized): The concat dataset (built by the runner).
        syn_ratio (float): alpha = N_syn / N_real per epoch, >= 0.
        resample_synthetic (bool): Draw a new synthetic subset each epoch.
            Defaults to True.
        allow_repeats (bool): When the synthetic set is smaller than the
            draw, repeat synthetic samples instead of raising. Defaults to
            False.
        synthetic_datasets (Sequence[int], optional): Positions of the
            synthetic sets in the concat dataset. Defaults to every
            :class:`DiffusionSynthDataset` in it.
        shuffle (bool): Shuffle each epoch. Defaults to True.
        seed (int, optional): Seed shared by all ranks. Defaults to a
            synchronised random seed.
        round_up (bool): Pad the epoch to a multiple of the world size, as
            ``DefaultSampler`` does. Defaults to True.
    """

    _ratio_name = 'syn_ratio'

    def __init__(self,
                 dataset: Sized,
                 syn_ratio: float = 0.4,
                 resample_synthetic: bool = True,
                 allow_repeats: bool = False,
                 synthetic_datasets: Optional[Sequence[int]] = None,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        self.synthetic_datasets = synthetic_datasets
        super().__init__(dataset, syn_ratio, resample_synthetic, shuffle,
                         seed, round_up)
        if self.num_extra > len(self.pool) and not allow_repeats:
            raise ValueError(
                f'syn_ratio={syn_ratio} needs {self.num_extra} synthetic '
                f'samples per epoch ({syn_ratio} x {len(self.real_indices)} '
                f'real) but the synthetic set has {len(self.pool)}; '
                'synthesise more (tools/synthesize.py --num), lower '
                'syn_ratio, or set allow_repeats=True')
        MMLogger.get_current_instance().info(
            f'MixedRatioSampler: {len(self.real_indices)} real + '
            f'{self.num_extra} synthetic per epoch (alpha={syn_ratio}, '
            f'pool {len(self.pool)}, '
            f'{"resampled" if resample_synthetic else "fixed"})')

    def _split(self, dataset):
        return split_real_synthetic(dataset, self.synthetic_datasets)

    def _empty_pool_message(self) -> str:
        return (f'syn_ratio={self.ratio} needs synthetic samples but the '
                'dataset has none: use a ConcatDataset of the real set and '
                'a DiffusionSynthDataset (or set synthetic_datasets), or '
                'syn_ratio=0')


@DATA_SAMPLERS.register_module()
class InfiniteMixedRatioSampler(_InfiniteMixin, MixedRatioSampler):
    """:class:`MixedRatioSampler` as an endless stream, for
    ``IterBasedTrainLoop``: epoch after epoch of the mixed set, each
    shuffled (and, with ``resample_synthetic``, redrawn) by its own seed."""


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
    ignore_index = getattr(dataset, 'ignore_index', 255)
    logger = MMLogger.get_current_instance()
    shares = np.zeros((len(real_indices), len(classes)))
    logger.info(f'ClassAwareOversampler: reading {len(real_indices)} label '
                'maps to find rare-class patches')
    progress = progress_bar(len(real_indices), 'label maps read')
    for row, index in enumerate(real_indices):
        info = dataset.get_data_info(int(index))
        reduce_zero_label = info.get('reduce_zero_label', False)
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
        rare_classes, thr, min_share = self._rare_args
        return (f'no training patch holds the rare classes '
                f'{self.rare_classes or rare_classes} at a share >= '
                f'{min_share} (rare: below {thr} of all pixels); lower '
                'min_share or name rare_classes explicitly')


@DATA_SAMPLERS.register_module()
class InfiniteClassAwareOversampler(_InfiniteMixin, ClassAwareOversampler):
    """:class:`ClassAwareOversampler` as an endless stream, for
    ``IterBasedTrainLoop``."""
