import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from mmseg.registry import DATASETS, TRANSFORMS
from dldm_mmseg.datasets.label_transforms import class_boundary_band
from fixtures import write_pair

ERODED = 'configs/demo/brazil/deeplabv3plus_brazil_syn40_eroded.py'


def halves(size=8, split=4):
    """Class 0 left of column ``split``, class 1 from it on."""
    label = np.zeros((size, size), np.uint8)
    label[:, split:] = 1
    return label


@pytest.mark.parametrize('width', [1, 2, 3])
def test_band_is_width_columns_each_side_of_a_straight_edge(width):
    band = class_boundary_band(halves(), width)
    columns = np.flatnonzero(band.all(axis=0))
    assert columns.tolist() == list(range(4 - width, 4 + width))
    assert band.sum() == 8 * 2 * width


def test_band_reaches_diagonal_neighbours():
    label = np.zeros((7, 7), np.uint8)
    label[3, 3] = 1
    band = class_boundary_band(label, 1)
    expected = np.zeros((7, 7), bool)
    expected[2:5, 2:5] = True
    np.testing.assert_array_equal(band, expected)


def test_ignore_pixels_and_the_border_make_no_boundary():
    label = np.ones((6, 6), np.uint8)
    label[:, :2] = 255
    assert not class_boundary_band(label, 2).any()
    label[0, 5] = 3  # a corner pixel: its band stays inside the map
    band = class_boundary_band(label, 1)
    assert set(zip(*np.nonzero(band))) == {(0, 4), (0, 5), (1, 4), (1, 5)}


def test_bad_width_is_refused():
    for width in (0, -1, 1.5):
        with pytest.raises(ValueError, match='width must be'):
            class_boundary_band(halves(), width)
    with pytest.raises(ValueError, match='width must be'):
        TRANSFORMS.build(dict(type='IgnoreClassBoundaries', width=0))


def test_transform_ignores_the_band_and_keeps_the_rest():
    transform = TRANSFORMS.build(dict(type='IgnoreClassBoundaries', width=1))
    label = halves()
    results = transform(dict(gt_seg_map=label.copy(), seg_fields=[]))
    out = results['gt_seg_map']
    band = class_boundary_band(label, 1)
    assert (out[band] == 255).all()
    np.testing.assert_array_equal(out[~band], label[~band])
    assert results['boundary_ignored'] == band.sum() == 16
    assert 'width=1' in repr(transform)


def test_eroded_config_erodes_synthetic_labels_only(tmp_path):
    """The eroded Brazil config's synthetic pipeline unlabels the band of
    a loaded pair; its real dataset's pipeline and the plain config's
    synthetic one keep every label."""
    root = str(tmp_path / 'syn')
    label = halves(16, 7) + 1  # 1 = background, 2 = building on disk
    write_pair(root, 'train', '000000', label, np.random.default_rng(0))
    with open(osp.join(root, 'manifest.jsonl'), 'w') as f:
        f.write(json.dumps(dict(id='000000', seed=0)) + '\n')
    cfg = Config.fromfile(ERODED)
    plain = Config.fromfile(ERODED.replace('_eroded', ''))

    def gt(entry):
        dataset = DATASETS.build(dict(entry, data_root=root, synthesis=None))
        return dataset[0]['data_samples'].gt_sem_seg.data[0].numpy()

    synthetic = cfg.train_dataloader.dataset.datasets[1].to_dict()
    eroded = gt(synthetic)
    reduced = label.astype(np.int64) - 1
    band = class_boundary_band(reduced, 1)
    assert band.sum() == 32
    # flips move both alike: compare the band's shape, not its place
    assert (eroded == 255).sum() == band.sum()
    assert set(np.unique(eroded[eroded != 255])) == {0, 1}
    kept = gt(plain.train_dataloader.dataset.datasets[1].to_dict())
    assert (kept != 255).all()
    real_types = [t['type'] for t in
                  cfg.train_dataloader.dataset.datasets[0].pipeline]
    assert 'IgnoreClassBoundaries' not in real_types


def test_eroded_config_is_syn40_plus_the_transform():
    """Nothing else differs from the plain alpha-0.4 config, and the
    width the Brazil harness sets by cfg-options reaches the transform."""
    cfg = Config.fromfile(ERODED)
    plain = Config.fromfile(ERODED.replace('_eroded', ''))
    eroded = cfg.to_dict()
    step = eroded['train_dataloader']['dataset']['datasets'][1][
        'pipeline'].pop(2)
    assert step == dict(type='IgnoreClassBoundaries', width=1)
    assert eroded == plain.to_dict()
    cfg.merge_from_dict(
        {'train_dataloader.dataset.datasets.1.pipeline.2.width': 2})
    transform = TRANSFORMS.build(
        cfg.train_dataloader.dataset.datasets[1].pipeline[2])
    assert transform.width == 2
