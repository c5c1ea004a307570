"""The datasets layer's builder registry: a hook registers, a dataset
calls, and neither imports the other's layer."""
import gc
import os.path as osp

from dldm_mmseg.datasets.set_builders import (build_registered_set,
                                              register_set_builder)


class Maker:
    def __init__(self):
        self.calls = 0

    def make(self):
        self.calls += 1


def test_registered_builder_runs_for_its_folder_only(tmp_path):
    maker = Maker()
    folder = str(tmp_path / 'syn')
    register_set_builder(folder, maker.make)
    # the same folder however it is spelled; another folder has none
    assert build_registered_set(osp.join(str(tmp_path), '.', 'syn'))
    assert maker.calls == 1
    assert not build_registered_set(str(tmp_path / 'other'))
    assert maker.calls == 1


def test_builder_goes_away_with_its_owner(tmp_path):
    maker = Maker()
    folder = str(tmp_path / 'syn')
    register_set_builder(folder, maker.make)
    del maker
    gc.collect()
    assert not build_registered_set(folder)


def test_synth_dataset_module_does_not_import_the_engine():
    import dldm_mmseg.datasets.synth_dataset as module
    source = open(module.__file__).read()
    assert 'dldm_mmseg.engine' not in source
    assert 'dldm_mmseg.synthesis' not in source
