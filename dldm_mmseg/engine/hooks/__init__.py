from .generator_hooks import GeneratorExportHook, GeneratorSampleHook
from .label_range_hook import LabelRangeHook
from .synthesis_hook import SynthesisHook

__all__ = ['GeneratorExportHook', 'GeneratorSampleHook', 'LabelRangeHook',
           'SynthesisHook']
