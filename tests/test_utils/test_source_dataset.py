"""The real set named by type or by a config with metainfo."""
import pytest

from dldm_mmseg.utils.source_dataset import (source_dataset_defaults,
                                             source_dataset_from_config)
from fixtures import POTSDAM_CLASSES

THREE = dict(type='BaseSegDataset', reduce_zero_label=True,
             metainfo=dict(classes=('water', 'field', 'forest'),
                           palette=[[0, 0, 255], [255, 255, 0],
                                    [0, 128, 0]]))


def test_registered_type_and_config_with_metainfo():
    potsdam = source_dataset_defaults('PotsdamDataset')
    assert potsdam['metainfo']['classes'] == tuple(POTSDAM_CLASSES)
    assert potsdam['reduce_zero_label'] is True
    # a config of the registered type: its metainfo is the class's
    assert source_dataset_defaults(dict(type='PotsdamDataset')) == potsdam
    three = source_dataset_defaults(THREE)
    assert three == dict(metainfo=dict(
        classes=('water', 'field', 'forest'),
        palette=[[0, 0, 255], [255, 255, 0], [0, 128, 0]]),
        reduce_zero_label=True)
    # BaseSegDataset's own default: no zero label reduction
    assert not source_dataset_defaults(
        dict(THREE, reduce_zero_label=None))['reduce_zero_label']


@pytest.mark.parametrize('source, error, message', [
    (None, ValueError, 'source_dataset is required'),
    ('LakeDataset', KeyError, 'LakeDataset.* is not a registered dataset'),
    (dict(metainfo=THREE['metainfo']), ValueError, 'has no "type"'),
    (dict(type='BaseSegDataset'), ValueError, 'has no metainfo classes'),
    (dict(type='BaseSegDataset', metainfo=dict(classes=('a', 'b'))),
     ValueError, 'names 2 classes but no palette'),
    (dict(type='PotsdamDataset', metainfo=dict(classes=('car', 'clutter'))),
     ValueError, r"names 2 classes but no palette \(the type's has 6"),
    (dict(THREE, metainfo=dict(THREE['metainfo'],
                               palette=[[0, 0, 255], [255, 255, 0]])),
     ValueError, r'palette has 2 colours for 3 classes'),
    (dict(THREE, metainfo=dict(THREE['metainfo'], palette=[
        [0, 0, 255], [255, 255, 0], [0, 128, 300]])),
     ValueError, r"colour \[0, 128, 300\] of class 'forest' is not an RGB"),
    (dict(THREE, metainfo=dict(THREE['metainfo'], palette=[
        [0, 0, 255], [255, 255, 0], [0, 0, 255]])),
     ValueError, 'repeats a colour'),
])
def test_bad_source_datasets_name_the_fix(source, error, message):
    with pytest.raises(error, match=message):
        source_dataset_defaults(source)


def test_from_config_finds_the_real_set(tmp_path):
    top = tmp_path / 'top.py'
    top.write_text(f'source_dataset = {THREE!r}\n')
    assert source_dataset_from_config(str(top)) == THREE
    synth = tmp_path / 'synth.py'
    synth.write_text("synthesis = dict(source_dataset='PotsdamDataset')\n")
    assert source_dataset_from_config(str(synth)) == 'PotsdamDataset'
    # a segmentation config: the real part of a real + synthetic concat
    seg = tmp_path / 'seg.py'
    seg.write_text(
        'train_dataloader = dict(dataset=dict(type="ConcatDataset", '
        'datasets=[dict(type="DiffusionSynthDataset", data_root="s"), '
        f'dict(type="RepeatDataset", times=2, dataset=dict({THREE!r}, '
        'data_root="r"))]))\n')
    assert source_dataset_from_config(str(seg)) == THREE
    empty = tmp_path / 'empty.py'
    empty.write_text('model = dict()\n')
    with pytest.raises(ValueError, match='empty.py names no real dataset'):
        source_dataset_from_config(str(empty))


def test_from_config_honours_custom_imports(tmp_path, monkeypatch):
    (tmp_path / 'my_lakes.py').write_text(
        'from mmseg.datasets import BaseSegDataset\n'
        'from mmseg.registry import DATASETS\n'
        '@DATASETS.register_module(force=True)\n'
        'class LakesDataset(BaseSegDataset):\n'
        '    METAINFO = dict(classes=("land", "lake"),\n'
        '                    palette=[[0, 255, 0], [0, 0, 255]])\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = tmp_path / 'lakes.py'
    cfg.write_text("custom_imports = dict(imports=['my_lakes'])\n"
                   "source_dataset = 'LakesDataset'\n")
    source = source_dataset_from_config(str(cfg))
    assert source_dataset_defaults(source)['metainfo']['classes'] == (
        'land', 'lake')


def test_identity_is_the_type_name_or_what_the_config_resolves_to():
    from dldm_mmseg.utils.source_dataset import source_identity
    # sets made when configs spelled the type as a string keep their
    # fingerprint when the configs spell it as dict(type=...)
    assert source_identity('PotsdamDataset') == 'PotsdamDataset'
    assert source_identity(dict(type='PotsdamDataset')) == 'PotsdamDataset'
    # restating the type's defaults, or its registry scope, is the same set
    assert source_identity(dict(type='mmseg.PotsdamDataset',
                                reduce_zero_label=True)) == 'PotsdamDataset'
    assert source_identity(dict(type='PotsdamDataset',
                                reduce_zero_label=False)) != 'PotsdamDataset'
    three = source_identity(THREE)
    assert three == dict(THREE['metainfo'], reduce_zero_label=True)
    assert source_identity(dict(THREE, reduce_zero_label=False)) != three
