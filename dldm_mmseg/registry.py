"""The package's own registry: who makes a synthetic set.

Datasets sit below the synthesis engine, so ``DiffusionSynthDataset``
cannot import it; its ``synthesis`` argument names a builder here, which
the registry imports from ``dldm_mmseg.synthesis`` when it is built.
"""
from mmengine.registry import Registry

SET_BUILDERS = Registry('synthetic set builder',
                        locations=['dldm_mmseg.synthesis.set_builder'])
