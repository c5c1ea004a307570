"""What both samplers share: the real/synthetic split of a concatenated
set and an epoch of every real sample plus ``round(ratio * N_real)`` extra
draws, shuffled and split across ranks (see the package docstring)."""
import itertools
import math
from typing import Iterator, List, Optional, Sequence, Sized, Tuple

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
import torch
from torch.utils.data import DataLoader, Sampler, Subset

from dldm_mmseg.datasets.synth_dataset import DiffusionSynthDataset

_SHUFFLE_STREAM, _EXTRA_STREAM, _MORE_STREAM = 0, 1, 2


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


def check_ratio(name: str, ratio, what: str = '') -> None:
    """Refuse a ratio of extra draws per real sample that is not a number
    >= 0, naming the setting (``what``: what the extra draws are)."""
    if ratio is None or not np.isfinite(ratio) or ratio < 0:
        raise ValueError(f'{name} must be a number >= 0, got {ratio!r}; '
                         f'{name}=0.4 adds 40% of the real count per epoch'
                         + what)


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
        check_ratio(self._ratio_name, ratio)
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
        self.epoch_size = (len(self.real_indices) + self.num_extra +
                           sum(num for _, num in self._more_pools()))
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

    def _more_pools(self) -> List[Tuple[np.ndarray, int]]:
        """Further ``(pool, draws per epoch)`` beside the extra draws, each
        drawn like them from its own random stream (none here)."""
        return []

    def _draw(self, pool: np.ndarray, num: int, epoch: int,
              stream: int) -> np.ndarray:
        """``num`` draws from ``pool``: without replacement while the pool
        lasts, then another pass over a fresh permutation of the pool."""
        if num == 0:
            return pool[:0]
        draw_epoch = epoch if self.resample else 0
        rng = np.random.default_rng([self.seed, draw_epoch, stream])
        passes = math.ceil(num / len(pool))
        order = np.concatenate([rng.permutation(pool) for _ in range(passes)])
        return order[:num]

    def _draw_extra(self, epoch: int) -> np.ndarray:
        """The epoch's extra draws (see :meth:`_draw`)."""
        return self._draw(self.pool, self.num_extra, epoch, _EXTRA_STREAM)

    def epoch_indices(self, epoch: int) -> List[int]:
        """All indices of one epoch, identical on every rank."""
        more = [self._draw(pool, num, epoch, _MORE_STREAM + i)
                for i, (pool, num) in enumerate(self._more_pools())]
        indices = np.concatenate([self.real_indices, self._draw_extra(epoch),
                                  *more])
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


def real_loader(loader: DataLoader, batch_size: Optional[int] = None,
                seed: int = 0) -> DataLoader:
    """A loader over the real samples of ``loader``'s dataset, with its
    collate function and batch size (or ``batch_size``); full batches
    only, unless there are fewer samples than one batch. The real samples
    are the dataset's parts that are not
    :class:`~dldm_mmseg.datasets.DiffusionSynthDataset` s, and of those,
    under a ratio sampler (or a batch sampler over one), the ones it draws
    as real (its ``real_indices``, which follow its
    ``synthetic_datasets``).

    The samples are shuffled (by ``seed``, the same order each call), as
    training draws them: tiles cut from a scene are stored in scene order,
    and a batch of neighbouring tiles varies less than a random one, so an
    average of in-order batch variances would understate the variance the
    layers saw in training."""
    real, _ = split_real_synthetic(loader.dataset)
    sampler = getattr(loader, 'sampler', None)
    if not hasattr(sampler, 'real_indices'):  # a batch sampler's own
        sampler = getattr(getattr(loader, 'batch_sampler', None), 'sampler',
                          None)
    drawn = getattr(sampler, 'real_indices', None)
    if drawn is not None:  # never a DiffusionSynthDataset part, though
        real = np.intersect1d(real, drawn)
    if len(real) == 0:
        raise ValueError('the training set holds no real sample: every '
                         'part of it is a DiffusionSynthDataset')
    batch_size = batch_size or loader.batch_size
    return DataLoader(Subset(loader.dataset, real.tolist()),
                      batch_size=batch_size, shuffle=True, num_workers=0,
                      generator=torch.Generator().manual_seed(seed),
                      collate_fn=loader.collate_fn,
                      drop_last=len(real) >= batch_size)
