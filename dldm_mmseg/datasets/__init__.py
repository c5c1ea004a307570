from .samplers import (ClassAwareOversampler, InfiniteClassAwareOversampler,
                       InfiniteMixedRatioSampler, MixedRatioSampler,
                       split_real_synthetic)
from .synth_dataset import DiffusionSynthDataset

__all__ = ['DiffusionSynthDataset', 'MixedRatioSampler',
           'InfiniteMixedRatioSampler', 'ClassAwareOversampler',
           'InfiniteClassAwareOversampler', 'split_real_synthetic']
