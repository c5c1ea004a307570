"""Stage 3: the synthesis engine that turns the two trained generators into
a synthetic set on disk (``tools/synthesize.py``, or the
``SyntheticSetBuilder`` a training dataset names), in the layout of
:mod:`dldm_mmseg.datasets.synth_layout`."""
from .engine import SynthesisEngine
from .runtime import deterministic_kernels, load_generator
from .set_builder import SyntheticSetBuilder
from .settings import SynthesisSettings
from .share_sampler import TargetShareSampler, class_weakness

__all__ = ['SynthesisEngine', 'SynthesisSettings', 'SyntheticSetBuilder',
           'TargetShareSampler', 'class_weakness', 'load_generator',
           'deterministic_kernels']
