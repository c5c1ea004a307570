from .generator_hooks import GeneratorExportHook, GeneratorSampleHook
from .label_range_hook import LabelRangeHook
from .random_state_hook import RandomStateHook
from .real_batchnorm_hook import RealBatchNormHook
from .stage2_figure_hook import Stage2FigureHook
from .vae_export_hook import VAEExportHook

__all__ = ['GeneratorExportHook', 'GeneratorSampleHook', 'LabelRangeHook',
           'RandomStateHook', 'RealBatchNormHook', 'Stage2FigureHook',
           'VAEExportHook']
