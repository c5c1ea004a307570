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
import importlib.util
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


def __getattr__(name):
    """``from dldm_mmseg.apis import synthesis`` and friends."""
    if name in MOVED:
        return importlib.import_module(MOVED[name])
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


class _MovedModuleFinder:
    """Resolves ``import dldm_mmseg.apis.<old>`` to the module's new home
    (the same module object, so patches and isinstance checks agree)."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        prefix, _, name = fullname.rpartition('.')
        if prefix != __name__ or name not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, _MovedModuleFinder)

    @staticmethod
    def create_module(spec):
        return importlib.import_module(MOVED[spec.name.rpartition('.')[2]])

    @staticmethod
    def exec_module(module):
        pass


sys.meta_path.append(_MovedModuleFinder)

__all__ = ['VLMCaptioner', 'write_captions', 'load_captions',
           'template_caption', 'list_patches']
