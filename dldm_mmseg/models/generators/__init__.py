from .base import DiffusionGenerator
from .components import (PRESETS, SDComponents, build_clip_tokenizer,
                         build_sd_components)
from .image_generator import ControlNetImageGenerator
from .mask_generator import LoRAMaskGenerator
from .wrappers import GeneratorDistributedDataParallel

__all__ = ['DiffusionGenerator', 'LoRAMaskGenerator',
           'ControlNetImageGenerator', 'build_sd_components',
           'build_clip_tokenizer', 'SDComponents', 'PRESETS',
           'GeneratorDistributedDataParallel']
