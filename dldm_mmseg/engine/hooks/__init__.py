from .generator_hooks import GeneratorExportHook, GeneratorSampleHook
from .synthesis_hook import SynthesisHook

__all__ = ['GeneratorExportHook', 'GeneratorSampleHook', 'SynthesisHook']
