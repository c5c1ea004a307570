from .samplers import (ClassAwareOversampler, InfiniteClassAwareOversampler,
                       InfiniteMixedRatioSampler, MixedRatioSampler,
                       split_real_synthetic)
from .mask_caption_dataset import MaskCaptionDataset
from .transforms import (CheckPatchSize, PackGeneratorInputs,
                         RandomQuarterTurn, RenderPaletteMask)
from .synth_dataset import DiffusionSynthDataset
from .label_transforms import IgnoreClassBoundaries

__all__ = ['DiffusionSynthDataset', 'MaskCaptionDataset', 'MixedRatioSampler',
           'InfiniteMixedRatioSampler', 'ClassAwareOversampler',
           'InfiniteClassAwareOversampler', 'split_real_synthetic',
           'PackGeneratorInputs', 'RandomQuarterTurn', 'RenderPaletteMask',
           'CheckPatchSize', 'IgnoreClassBoundaries']
