"""Samplers that mix real and extra samples at a ratio, per epoch.

Both samplers here build each epoch as *all real samples plus
``round(ratio * N_real)`` extra draws*, shuffled together, and split the
epoch across ranks like mmengine's ``DefaultSampler``:

* :class:`MixedRatioSampler` draws the extras from a synthetic set
  (``ratio`` is the paper's alpha = N_syn / N_real);
* :class:`ClassAwareOversampler` draws them from real patches that contain
  rare classes (the paper's random-oversampling baseline), so the two are
  compared at the same number of samples per epoch. ``MixedRatioSampler``
  can also do both (``oversample_ratio``): real, synthetic and repeated
  rare-class real patches in one epoch.

Randomness comes from ``numpy.random.default_rng([seed, epoch, stream])``,
so every rank computes the same epoch and takes a disjoint slice of it.
The ``Infinite*`` variants chain epochs into one stream for
``IterBasedTrainLoop`` (stock mmseg Potsdam configs are iteration-based).
"""
from .mixed_ratio import InfiniteMixedRatioSampler, MixedRatioSampler
from .oversampling import (ClassAwareOversampler,
                           InfiniteClassAwareOversampler, rare_patch_indices,
                           real_part)
from .ratio_base import real_loader, split_real_synthetic

__all__ = ['MixedRatioSampler', 'InfiniteMixedRatioSampler',
           'ClassAwareOversampler', 'InfiniteClassAwareOversampler',
           'rare_patch_indices', 'real_loader', 'real_part',
           'split_real_synthetic']
