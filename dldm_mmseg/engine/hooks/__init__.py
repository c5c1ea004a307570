from .generator_hooks import GeneratorExportHook, GeneratorSampleHook

__all__ = ['GeneratorExportHook', 'GeneratorSampleHook']
