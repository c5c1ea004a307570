"""The paper's mixing of real and synthetic samples at alpha = N_syn /
N_real per epoch."""
from typing import List, Optional, Sequence, Sized

import numpy as np
from mmengine.logging import MMLogger

from mmseg.registry import DATA_SAMPLERS
from .oversampling import no_rare_patch_message, rare_patch_indices
from .ratio_base import (_InfiniteMixin, _RatioSampler, check_ratio,
                         split_real_synthetic)


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

    With ``oversample_ratio`` it also oversamples the real patches that
    hold a rare class, as :class:`ClassAwareOversampler` does: each epoch
    then adds ``round(oversample_ratio * N_real)`` draws of those patches
    to the real and synthetic samples (``syn_ratio=0.4,
    oversample_ratio=0.4``: 1.8 N_real samples per epoch, of which 0.4
    synthetic and 0.4 repeated rare real patches).

    Args:
        dataset (Sized): The concat dataset (built by the runner).
        syn_ratio (float): alpha = N_syn / N_real per epoch, >= 0.
        resample_synthetic (bool): Draw a new synthetic subset each epoch.
            Defaults to True.
        allow_repeats (bool): When the synthetic set is smaller than the
            draw, repeat synthetic samples instead of raising. Defaults to
            False.
        oversample_ratio (float): Extra draws of rare-class real patches
            per epoch, as a fraction of the real count, >= 0; drawn afresh
            each epoch, or fixed, as ``resample_synthetic`` says. Defaults
            to 0 (none).
        rare_classes (Sequence[str], optional): With ``oversample_ratio``,
            the classes whose patches are oversampled. Defaults to those
            below ``rare_share_thr`` of the real pixels.
        rare_share_thr (float): See ``rare_classes``. Defaults to 0.05.
        min_share (float): A patch holds a class when the class covers at
            least this share of its valid pixels. Defaults to 0.01.
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
                 round_up: bool = True,
                 oversample_ratio: float = 0.0,
                 rare_classes: Optional[Sequence[str]] = None,
                 rare_share_thr: float = 0.05,
                 min_share: float = 0.01) -> None:
        check_ratio('oversample_ratio', oversample_ratio,
                    ' in rare-class real patches')
        self.synthetic_datasets = synthetic_datasets
        self.oversample_ratio = float(oversample_ratio)
        self._rare_args = (rare_classes, rare_share_thr, min_share)
        self.rare_classes: List[str] = []
        self.rare_pool = np.arange(0)
        self.num_rare = 0
        super().__init__(dataset, syn_ratio, resample_synthetic, shuffle,
                         seed, round_up)
        if self.num_extra > len(self.pool) and not allow_repeats:
            raise ValueError(
                f'syn_ratio={syn_ratio} needs {self.num_extra} synthetic '
                f'samples per epoch ({syn_ratio} x {len(self.real_indices)} '
                f'real) but the synthetic set has {len(self.pool)}; '
                'synthesise more (tools/synthesize.py --num), lower '
                'syn_ratio, or set allow_repeats=True')
        rare = (f' + {self.num_rare} rare-class real ({self.rare_classes}, '
                f'{len(self.rare_pool)} patches)' if self.num_rare else '')
        MMLogger.get_current_instance().info(
            f'MixedRatioSampler: {len(self.real_indices)} real + '
            f'{self.num_extra} synthetic{rare} per epoch (alpha={syn_ratio}, '
            f'pool {len(self.pool)}, '
            f'{"resampled" if resample_synthetic else "fixed"})')

    def _split(self, dataset):
        real, syn = split_real_synthetic(dataset, self.synthetic_datasets)
        self.num_rare = int(round(self.oversample_ratio * len(real)))
        if self.num_rare:
            self.rare_pool, self.rare_classes = rare_patch_indices(
                dataset, real, *self._rare_args)
            if len(self.rare_pool) == 0:
                raise ValueError(
                    f'oversample_ratio={self.oversample_ratio}: ' +
                    no_rare_patch_message(self._rare_args, self.rare_classes)
                    + ', or set oversample_ratio=0')
        return real, syn

    def _more_pools(self):
        return [(self.rare_pool, self.num_rare)] if self.num_rare else []

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
