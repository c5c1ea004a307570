from .generator_hooks import GeneratorExportHook, GeneratorSampleHook
from .label_range_hook import LabelRangeHook
from .synthesis_hook import SynthesisHook
from .vae_export_hook import VAEExportHook

__all__ = ['GeneratorExportHook', 'GeneratorSampleHook', 'LabelRangeHook',
           'SynthesisHook', 'VAEExportHook']
