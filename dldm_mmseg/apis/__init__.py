"""Former home of the captioning, synthesis and analysis code, kept so that
scripts written against it keep importing.

The code now lives in the package of its pipeline stage:
``dldm_mmseg.datasets.captioning`` (captions), ``dldm_mmseg.synthesis``
(stage 3), ``dldm_mmseg.evaluation.consistency``,
``dldm_mmseg.models.vae_fitting`` and ``dldm_mmseg.experiments`` (demo and
sweep reports). ``import dldm_mmseg.apis.synthesis`` and the other old
module paths resolve to those modules.
"""
import importlib
import sys

from dldm_mmseg.datasets.captioning import (VLMCaptioner, list_patches,
                                            load_captions, template_caption,
                                            write_captions)

#: old module name -> where it lives now
MOVED = {
    'captioning': 'dldm_mmseg.datasets.captioning',
    'set_layout': 'dldm_mmseg.synthesis.layout',
    'synthesis': 'dldm_mmseg.synthesis.engine',
    'synthesis_settings': 'dldm_mmseg.synthesis.settings',
    'synthesis_output': 'dldm_mmseg.synthesis.output',
    'share_sampler': 'dldm_mmseg.synthesis.share_sampler',
    'consistency': 'dldm_mmseg.evaluation.consistency',
    'vae_fitting': 'dldm_mmseg.models.vae_fitting',
    'analysis': 'dldm_mmseg.experiments.analysis',
    'report': 'dldm_mmseg.experiments.report',
    'alpha_sweep': 'dldm_mmseg.experiments.alpha_sweep',
}


# ``import dldm_mmseg.apis.synthesis`` finds the moved module under its old
# name (the same object, with its own name and spec); ``from
# dldm_mmseg.apis import synthesis`` reads the attribute
for _old, _new in MOVED.items():
    globals()[_old] = sys.modules[f'{__name__}.{_old}'] = \
        importlib.import_module(_new)
del _old, _new

__all__ = ['VLMCaptioner', 'write_captions', 'load_captions',
           'template_caption', 'list_patches']
