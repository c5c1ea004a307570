"""dldm_mmseg: decoupled latent-diffusion sample generation for MMSeg.

Importing the package registers its components in mmseg's registries and
makes ``_base_ = ['mmseg::...']`` config inheritance work with the OneDL
distributions of mmsegmentation (see :mod:`dldm_mmseg.utils.compat`).
"""
from .utils.compat import import_mmseg_quietly, register_onedl_scopes

register_onedl_scopes()
import_mmseg_quietly()

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
