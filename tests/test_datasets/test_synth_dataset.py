import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmseg.registry import DATASETS
from fixtures import POTSDAM_CLASSES, POTSDAM_PALETTE, make_synth_set


def build(root, **kwargs):
    return DATASETS.build(dict(dict(type='DiffusionSynthDataset',
                                    data_root=root,
                                    source_dataset='PotsdamDataset'),
                               **kwargs))


def test_same_metainfo_and_encoding_as_real_set(synth_root):
    from mmseg.datasets import PotsdamDataset
    dataset = build(synth_root)
    assert len(dataset) == 6
    assert dataset.metainfo['classes'] == PotsdamDataset.METAINFO['classes']
    assert dataset.reduce_zero_label is True
    info = dataset.get_data_info(0)
    assert info['sample_id'] == '000000' and info['manifest']['seed'] == 100


def test_pipeline_loads_pairs(synth_root):
    dataset = build(synth_root, pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs')])
    sample = dataset[0]
    labels = sample['data_samples'].gt_sem_seg.data.unique().tolist()
    assert set(labels) <= {0, 1, 2, 3, 4, 5, 255} and 255 in labels


def test_cap_and_filters(tmp_path):
    root = str(tmp_path / 'syn')
    records = make_synth_set(root, num=6)
    assert len(build(root, max_samples=4)) == 4
    cpes = sorted(r['cpe'] for r in records)
    kept = build(root, filter_cfg=dict(max_cpe=cpes[2]))
    assert len(kept) == 3
    assert all(kept.get_data_info(i)['manifest']['cpe'] <= cpes[2]
               for i in range(3))
    car = sorted(r['measured_shares']['car'] for r in records)
    assert len(build(root, filter_cfg=dict(min_shares=dict(car=car[3])))) \
        == sum(c >= car[3] for c in car)
    with pytest.raises(ValueError, match='removed all'):
        build(root, filter_cfg=dict(max_cpe=-1))
    with pytest.raises(KeyError, match='unknown filter_cfg'):
        build(root, filter_cfg=dict(max_error=1))


def test_max_cpe_from_shares_without_cpe_field(tmp_path):
    root = str(tmp_path / 'syn')

    def drop_cpe(records):
        for r in records:
            r.pop('cpe')
        return records

    make_synth_set(root, num=4, records=drop_cpe)
    assert 0 < len(build(root, filter_cfg=dict(max_cpe=30.0))) <= 4


def test_missing_set_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match='tools/synthesize.py'):
        build(str(tmp_path / 'nothing'))


def test_empty_manifest(tmp_path):
    root = tmp_path / 'syn'
    os.makedirs(root / 'img_dir' / 'train')
    os.makedirs(root / 'ann_dir' / 'train')
    (root / 'manifest.jsonl').write_text('')
    with pytest.raises(ValueError, match='is empty'):
        build(str(root))


def test_incomplete_set(synth_root):
    os.remove(osp.join(synth_root, 'ann_dir', 'train', '000003.png'))
    with pytest.raises(ValueError, match='incomplete.*000003'):
        build(synth_root)


def test_manifest_disagrees_with_files(synth_root):
    Image.new('RGB', (32, 32)).save(
        osp.join(synth_root, 'img_dir', 'train', 'stray.png'))
    with pytest.raises(ValueError, match='does not list.*stray.png'):
        build(synth_root)


def test_duplicate_and_id_less_records(synth_root):
    path = osp.join(synth_root, 'manifest.jsonl')
    lines = open(path).read().splitlines()
    open(path, 'w').write('\n'.join(lines + [lines[0]]) + '\n')
    with pytest.raises(ValueError, match="manifest.jsonl:7.*'000000'"):
        build(synth_root)
    open(path, 'w').write('\n'.join(lines + ['{"seed": 1}']) + '\n')
    with pytest.raises(ValueError, match='no "id"'):
        build(synth_root)


def test_size_mismatch(synth_root):
    Image.new('L', (16, 16)).save(
        osp.join(synth_root, 'ann_dir', 'train', '000002.png'))
    with pytest.raises(ValueError, match='000002.png is 32x32.*16x16'):
        build(synth_root)


def test_full_verify_catches_out_of_range_labels(synth_root):
    label = np.full((32, 32), 9, dtype=np.uint8)
    path = osp.join(synth_root, 'ann_dir', 'train', '000001.png')
    Image.fromarray(label).save(path)
    assert len(build(synth_root)) == 6  # header check does not read pixels
    # the value the file holds (9), and the range in the file's terms
    with pytest.raises(ValueError, match=r'\[9\] in .*000001.png are outside '
                       r'the 6 classes \(1..6, with 0 and 255 for ignore\)'):
        build(synth_root, verify='full')


def test_classes_cannot_be_changed(synth_root):
    with pytest.raises(ValueError, match='label encoding'):
        build(synth_root, metainfo=dict(classes=('a', 'b')))


def test_a_set_made_for_other_classes_is_refused(synth_root):
    three = dict(type='BaseSegDataset', reduce_zero_label=True,
                 metainfo=dict(classes=('water', 'field', 'forest'),
                               palette=[[0, 0, 255], [255, 255, 0],
                                        [0, 128, 0]]))
    with pytest.raises(ValueError, match=r"made for the classes \['impervious"
                       r"_surface'.*not \['water', 'field', 'forest'\] of "
                       r'BaseSegDataset \(3 classes\)'):
        build(synth_root, source_dataset=three)
    # a config-only real set with the same classes reads the set
    potsdam = dict(type='BaseSegDataset', reduce_zero_label=True,
                   metainfo=dict(classes=POTSDAM_CLASSES,
                                 palette=POTSDAM_PALETTE))
    assert len(build(synth_root, source_dataset=potsdam)) == 6


def test_dataset_makes_its_set_with_the_builder_it_names(tmp_path):
    """``synthesis`` names a builder in SET_BUILDERS: the dataset has it
    make the set in its own data_root before reading the manifest, with the
    arguments the config gives; the datasets layer never imports the
    synthesis engine."""
    from dldm_mmseg.registry import SET_BUILDERS
    calls = []

    @SET_BUILDERS.register_module(force=True)
    class FixtureSetBuilder:
        def __init__(self, num):
            self.num = num

        def ensure(self, out_dir):
            calls.append(out_dir)
            make_synth_set(out_dir, num=self.num)
            return dict(generated=self.num, complete=True)

    root = str(tmp_path / 'syn')
    dataset = build(root, synthesis=dict(type='FixtureSetBuilder', num=3))
    assert calls == [root] and len(dataset) == 3
    assert dataset.synthesis_result['generated'] == 3
    with pytest.raises(ValueError, match='give data_root'):
        DATASETS.build(dict(type='DiffusionSynthDataset',
                            source_dataset='PotsdamDataset',
                            synthesis=dict(type='FixtureSetBuilder', num=3)))
    import dldm_mmseg.datasets.synth_dataset as module
    import ast
    tree = ast.parse(open(module.__file__).read())
    imported = [n.module for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom)] + [
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
        for a in n.names]
    assert not [m for m in imported if m and m.startswith(
        ('dldm_mmseg.engine', 'dldm_mmseg.synthesis'))]
