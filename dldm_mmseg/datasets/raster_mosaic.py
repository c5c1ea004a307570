"""Georeferenced tiles (orthophoto sheets, say) put together into one scene
by their GeoTIFF georeference, so a scene delivered as tiles is prepared
as one raster and its splits are cut from one grid: :func:`read_scene`
takes a raster file or a folder of tiles wherever a scene is read.

The georeference is read with rasterio where it is installed, else from
the GeoTIFF tags with tifffile. Only north-up grids are placed (a pixel
scale and a tie point, no rotation).
"""
import glob
import hashlib
import math
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np

from dldm_mmseg.utils.hashing import cached_file_sha256
from .raster_io import TIFF_SUFFIXES, read_raster

# how far (in pixels) a tile's offset may be from a whole pixel
OFFSET_TOLERANCE = 0.01


def geotiff_grid(path: str) -> Tuple[float, float, float, float]:
    """The north-up grid of a GeoTIFF: x of its left edge, y of its top
    edge, pixel width and pixel height (both positive, in map units).

    Raises:
        ValueError: The file has no georeference, or a rotated one.
    """
    try:
        import rasterio
    except ImportError:
        rasterio = None
    if rasterio is not None:
        with rasterio.open(path) as src:
            t = src.transform
        if t.is_identity:
            raise ValueError(f'{path!r} has no georeference; only GeoTIFF '
                             'tiles can be placed in a mosaic')
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise ValueError(f'{path!r} has a rotated or flipped grid '
                             f'({tuple(t)[:6]}); warp it north-up first '
                             '(gdalwarp)')
        return t.c, t.f, t.a, -t.e
    import tifffile
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        scale, tie, rotated = (
            None if tags.get(name) is None else tags.get(name).value
            for name in ('ModelPixelScaleTag', 'ModelTiepointTag',
                         'ModelTransformationTag'))
    if rotated is not None:
        raise ValueError(f'{path!r} has a ModelTransformationTag (a rotated '
                         'grid); warp it north-up first (gdalwarp)')
    if scale is None or tie is None:
        raise ValueError(f'{path!r} has no georeference (no '
                         'ModelPixelScaleTag / ModelTiepointTag); only '
                         'GeoTIFF tiles can be placed in a mosaic')
    sx, sy = float(scale[0]), float(scale[1])
    if sx <= 0 or sy <= 0:
        raise ValueError(f'{path!r} has a pixel size of {sx} x {sy}; a '
                         'north-up grid has both positive (warp it first: '
                         'gdalwarp)')
    i, j, _, x, y = (float(v) for v in tie[:5])
    return x - i * sx, y + j * sy, sx, sy


def tile_offsets(paths: Sequence[str]) -> List[Tuple[int, int]]:
    """Each tile's (row, column) in the mosaic of all of them, whose top
    left is the top-left corner of the tiles together.

    Raises:
        ValueError: Tiles of different pixel sizes, or a tile whose grid is
            shifted against the first by part of a pixel.
    """
    if not paths:
        raise ValueError('no tiles to put together')
    grids = [geotiff_grid(p) for p in paths]
    sx, sy = grids[0][2:]
    for path, grid in zip(paths, grids):
        if not (math.isclose(grid[2], sx, rel_tol=1e-6) and
                math.isclose(grid[3], sy, rel_tol=1e-6)):
            raise ValueError(
                f'{path!r} has pixels of {grid[2]} x {grid[3]}, not the '
                f'{sx} x {sy} of {paths[0]!r}; resample the tiles to one '
                'pixel size first (gdalwarp -tr)')
    left = min(g[0] for g in grids)
    top = max(g[1] for g in grids)
    offsets = []
    for path, (x, y, _, _) in zip(paths, grids):
        row, col = (top - y) / sy, (x - left) / sx
        for what, value in (('row', row), ('column', col)):
            if abs(value - round(value)) > OFFSET_TOLERANCE:
                raise ValueError(
                    f'{path!r} lies {value:.3f} pixels ({what}) from the '
                    'mosaic\'s corner, not a whole number: its grid is '
                    f'shifted against {paths[0]!r}\'s; resample the tiles '
                    'to one grid first (gdalwarp -tap)')
        offsets.append((int(round(row)), int(round(col))))
    return offsets


def mosaic_tiles(paths: Sequence[str], fill: Optional[float] = None
                 ) -> np.ndarray:
    """The tiles put together on one grid by their georeference.

    Neighbouring tiles may overlap where they agree (sheets often share an
    edge row); the rest of the mosaic must be covered unless ``fill``
    gives the value of uncovered pixels (a nodata value for an image, an
    ignored value for labels).

    Args:
        paths (Sequence[str]): GeoTIFF tiles on one north-up grid, all
            with the same bands and dtype.
        fill (float, optional): The value of pixels no tile covers.

    Returns:
        np.ndarray: ``HxW`` or ``HxWxB``, as the tiles.

    Raises:
        ValueError: Tiles of other pixel sizes, shifted grids, other bands
            or dtypes, overlaps that disagree, or uncovered pixels without
            ``fill``; each names the file and the fix.
    """
    offsets = tile_offsets(paths)
    arrays = [read_raster(p)[0] for p in paths]
    first = arrays[0]

    def bands(array):
        return array.shape[2] if array.ndim == 3 else 1

    for path, array in zip(paths, arrays):
        if array.shape[2:] != first.shape[2:] or array.dtype != first.dtype:
            raise ValueError(
                f'{path!r} holds {bands(array)} band(s) of {array.dtype}, '
                f'not the {bands(first)} of {first.dtype} of {paths[0]!r}; '
                'give tiles of one product')
    if fill is not None and np.asarray(fill).astype(first.dtype) != fill:
        raise ValueError(f'fill {fill} is not a value of the tiles\' '
                         f'{first.dtype}; give one that is (0 or 255 for '
                         'uint8, say)')
    height = max(r + a.shape[0] for (r, _), a in zip(offsets, arrays))
    width = max(c + a.shape[1] for (_, c), a in zip(offsets, arrays))
    out = np.zeros((height, width) + first.shape[2:], first.dtype)
    owner = np.full((height, width), -1, np.int32)
    for index, ((row, col), array) in enumerate(zip(offsets, arrays)):
        window = (slice(row, row + array.shape[0]),
                  slice(col, col + array.shape[1]))
        taken = owner[window] >= 0
        if taken.any() and not np.array_equal(out[window][taken],
                                              array[taken]):
            other = paths[owner[window][taken][0]]
            raise ValueError(
                f'{paths[index]!r} overlaps {other!r} where the two differ; '
                'give tiles that do not overlap, or clip one of them')
        out[window] = array
        owner[window] = index
    uncovered = owner < 0
    if uncovered.any():
        if fill is None:
            row, col = np.argwhere(uncovered)[0]
            raise ValueError(
                f'the {len(paths)} tiles leave {int(uncovered.sum())} of the '
                f'{height}x{width} mosaic\'s pixels uncovered (the first at '
                f'row {row}, column {col}); add the missing tiles, or give '
                'a fill value (the image\'s nodata, an ignored label)')
        out[uncovered] = fill
    return out


def tile_paths(folder: str) -> List[str]:
    """The GeoTIFF tiles of ``folder``, sorted by name.

    Raises:
        ValueError: The folder holds no ``.tif`` / ``.tiff`` file.
    """
    paths = sorted(p for p in glob.glob(osp.join(folder, '*'))
                   if p.lower().endswith(TIFF_SUFFIXES) and osp.isfile(p))
    if not paths:
        raise ValueError(f'folder {folder!r} holds no .tif tiles; give a '
                         'raster file, or a folder of GeoTIFF tiles')
    return paths


def read_scene(path: str, key: Optional[str] = None
               ) -> Tuple[np.ndarray, Optional[float]]:
    """:func:`~.raster_io.read_raster` of a file, or the mosaic of a
    folder's GeoTIFF tiles (:func:`mosaic_tiles`) and their nodata value,
    which also fills what no tile covers."""
    if not osp.isdir(path):
        return read_raster(path, key)
    paths = tile_paths(path)
    nodata = read_raster(paths[0])[1]
    return mosaic_tiles(paths, fill=nodata), nodata


def scene_sha256(path: str) -> str:
    """The sha256 of a raster file, or of a folder's tiles (their names and
    contents), as :func:`read_scene` reads it."""
    if not osp.isdir(path):
        return cached_file_sha256(path)
    digest = hashlib.sha256()
    for tile in tile_paths(path):
        digest.update(f'{osp.basename(tile)} '
                      f'{cached_file_sha256(tile)}\n'.encode())
    return digest.hexdigest()
