from .generator_hooks import GeneratorExportHook, GeneratorSampleHook
from .label_range_hook import LabelRangeHook
from .random_state_hook import RandomStateHook
from .vae_export_hook import VAEExportHook

__all__ = ['GeneratorExportHook', 'GeneratorSampleHook', 'LabelRangeHook',
           'RandomStateHook', 'VAEExportHook']
