"""The modules that used to live in ``dldm_mmseg.apis`` keep importing from
their old paths, as the very same module objects."""
import importlib
import importlib.util

import pytest

from dldm_mmseg.apis import MOVED


@pytest.mark.parametrize('old', sorted(MOVED))
def test_old_module_path_is_the_new_module(old):
    module = importlib.import_module(f'dldm_mmseg.apis.{old}')
    assert module is importlib.import_module(MOVED[old])
    # the module keeps its own identity (reload, find_spec, pickling)
    assert module.__name__ == MOVED[old]
    assert importlib.util.find_spec(MOVED[old]).name == MOVED[old]
    assert getattr(importlib.import_module('dldm_mmseg.apis'), old) is module


def test_old_names_import_from_old_paths():
    from dldm_mmseg.apis import write_captions
    from dldm_mmseg.apis.synthesis import SynthesisEngine, image_seed
    from dldm_mmseg.datasets.captioning import write_captions as new_write
    from dldm_mmseg.synthesis import SynthesisEngine as new_engine
    from dldm_mmseg.synthesis.layout import image_seed as new_seed
    assert (write_captions, SynthesisEngine, image_seed) == (
        new_write, new_engine, new_seed)


def test_unknown_names_still_fail():
    with pytest.raises(ImportError):
        importlib.import_module('dldm_mmseg.apis.no_such_module')
    with pytest.raises(AttributeError, match='no_such_name'):
        importlib.import_module('dldm_mmseg.apis').no_such_name
