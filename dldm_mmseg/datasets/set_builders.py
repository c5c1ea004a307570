"""Who makes a synthetic set before a dataset reads it.

Datasets sit below the synthesis engine and its hooks, so
``DiffusionSynthDataset`` cannot import them. A higher layer (the
``SynthesisHook`` of a run) registers a builder for the folder it is
responsible for; the dataset calls :func:`build_registered_set` on its
``data_root`` before reading the manifest. Runs without a builder (a set
made beforehand with ``tools/synthesize.py``) read the folder as it is.
"""
import os.path as osp
import weakref
from typing import Callable, Dict

#: folder -> a weak reference to the builder (a bound method: the builder
#: goes away with its hook)
_BUILDERS: Dict[str, weakref.WeakMethod] = {}


def register_set_builder(folder: str, builder: Callable[[], object]) -> None:
    """Have ``builder()`` (a bound method) make or complete ``folder``
    before a dataset reads it. Held weakly: when its object is gone, the
    folder has no builder again."""
    _BUILDERS[osp.abspath(folder)] = weakref.WeakMethod(builder)


def build_registered_set(folder: str) -> bool:
    """Run the live builder registered for ``folder``, if any; returns
    whether one ran."""
    key = osp.abspath(folder)
    ref = _BUILDERS.get(key)
    builder = ref() if ref is not None else None
    if builder is None:
        _BUILDERS.pop(key, None)
        return False
    builder()
    return True
