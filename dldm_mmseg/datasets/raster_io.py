"""Reading a scene as a remote-sensing user holds it: a GeoTIFF (or any
TIFF), a MATLAB ``.mat`` pair as hyperspectral benchmarks ship, a ``.npy``
array or a plain PNG / JPEG; then three bands of it stretched to 8-bit RGB,
and its label raster mapped to mmseg's class ids.

TIFFs are read with rasterio where it is installed (it knows every GeoTIFF
layout and its nodata value), else with tifffile (the GDAL nodata tag is
read from the file); ``.mat`` files with scipy.
"""
import os.path as osp
from typing import Optional, Sequence, Tuple

import numpy as np

TIFF_SUFFIXES = ('.tif', '.tiff')


def read_raster(path: str, key: Optional[str] = None
                ) -> Tuple[np.ndarray, Optional[float]]:
    """A raster as ``HxW`` or ``HxWxB`` and its nodata value.

    Args:
        path (str): ``.tif``/``.tiff``, ``.mat``, ``.npy``, ``.png`` or
            ``.jpg``.
        key (str, optional): The variable of a ``.mat`` file holding more
            than one array.

    Returns:
        tuple: The array (bands last) and the file's nodata value (None
        where the file records none).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: Unknown suffix, a ``.mat`` file whose array cannot be
            told without ``key``, or an array that is not 2-D or 3-D.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'raster {path!r} does not exist')
    suffix = osp.splitext(path)[1].lower()
    nodata = None
    if suffix in TIFF_SUFFIXES:
        array, nodata = _read_tiff(path)
    elif suffix == '.mat':
        array = _read_mat(path, key)
    elif suffix == '.npy':
        array = np.load(path, allow_pickle=False)
    elif suffix in ('.png', '.jpg', '.jpeg'):
        from PIL import Image
        with Image.open(path) as image:
            array = np.asarray(image)
    else:
        raise ValueError(f'raster {path!r}: unknown suffix {suffix!r}; give '
                         'a .tif, .mat, .npy, .png or .jpg file')
    if array.ndim not in (2, 3):
        raise ValueError(f'raster {path!r} has shape {array.shape}; expected '
                         'rows x columns, with bands last or first')
    return array, nodata


def _read_tiff(path: str) -> Tuple[np.ndarray, Optional[float]]:
    try:
        import rasterio
    except ImportError:
        rasterio = None
    if rasterio is not None:
        with rasterio.open(path) as src:
            array = src.read()  # bands first
            nodata = src.nodata
        return (array[0] if array.shape[0] == 1
                else np.moveaxis(array, 0, -1)), nodata
    import tifffile
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        array = series.asarray()
        axes = series.axes
        tag = tif.pages[0].tags.get('GDAL_NODATA')
    nodata = float(str(tag.value).strip('\x00 ')) if tag is not None else None
    if array.ndim == 3:
        band_axis = next(i for i, a in enumerate(axes) if a not in 'YX')
        array = np.moveaxis(array, band_axis, -1)
    return array, nodata


def _read_mat(path: str, key: Optional[str]) -> np.ndarray:
    import scipy.io
    arrays = {name: value for name, value in scipy.io.loadmat(path).items()
              if not name.startswith('__') and isinstance(value, np.ndarray)
              and value.ndim in (2, 3)}
    if key is not None:
        if key not in arrays:
            raise ValueError(f'{path!r} has no array {key!r}; it holds '
                             f'{sorted(arrays)}')
        return arrays[key]
    if len(arrays) != 1:
        raise ValueError(f'{path!r} holds {len(arrays)} arrays '
                         f'{sorted(arrays)}; name one with --image-key / '
                         '--label-key')
    return next(iter(arrays.values()))


def select_bands(image: np.ndarray, bands: Optional[Sequence[int]],
                 path: str = 'image') -> np.ndarray:
    """Three bands of ``image`` as ``HxWx3``.

    Args:
        image (np.ndarray): ``HxW`` or ``HxWxB``.
        bands (Sequence[int], optional): Three band numbers counted from 1
            (as ``gdal_translate -b``), or one band shown as grey. Default:
            the first three bands, or the only band repeated to grey.
        path (str): Named in errors.

    Raises:
        ValueError: A band number outside ``1..B`` or not one or three.
    """
    cube = image[..., None] if image.ndim == 2 else image
    count = cube.shape[-1]
    if bands is None:
        bands = (1, 2, 3) if count >= 3 else (1,)
    bands = tuple(int(b) for b in bands)
    if len(bands) not in (1, 3):
        raise ValueError(f'--bands {",".join(map(str, bands))}: give three '
                         'band numbers (R,G,B) or one (grey)')
    for band in bands:
        if not 1 <= band <= count:
            raise ValueError(f'{path!r} has {count} band(s); band {band} is '
                             f'outside 1..{count} (bands are numbered from '
                             '1, as gdal_translate -b)')
    picked = cube[..., [b - 1 for b in bands]]
    return np.repeat(picked, 3, axis=-1) if len(bands) == 1 else picked


def stretch_to_uint8(rgb: np.ndarray, valid: np.ndarray,
                     percentiles: Tuple[float, float] = (2.0, 98.0)
                     ) -> np.ndarray:
    """Each band mapped linearly from its low..high percentile (over the
    ``valid`` pixels of the whole scene, so every tile is stretched alike)
    to 0..255; invalid pixels are 0.

    Raises:
        ValueError: No valid pixel, or percentiles not ``0 <= low < high
            <= 100``.
    """
    low, high = percentiles
    if not 0 <= low < high <= 100:
        raise ValueError(f'--percentiles {low},{high}: need 0 <= low < high '
                         '<= 100')
    if not valid.any():
        raise ValueError('the image has no valid pixel (all nodata)')
    out = np.zeros(rgb.shape, np.uint8)
    for band in range(rgb.shape[-1]):
        values = rgb[..., band].astype(np.float64)
        lo, hi = np.percentile(values[valid], (low, high))
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        out[..., band] = np.clip((values - lo) * scale, 0, 255).round()
    out[~valid] = 0
    return out


def label_ids(labels: np.ndarray, values: Sequence[int],
              ignore: Sequence[int], path: str = 'labels') -> np.ndarray:
    """Label raster values -> stored ids: class ``k`` (the raster value
    ``values[k]``) becomes ``k + 1``, ``ignore`` values become 0, as mmseg
    stores labels with ``reduce_zero_label=True``.

    Raises:
        ValueError: A value that is neither a class nor ignored, naming it,
            its pixel count and the fix.
    """
    if labels.ndim != 2:
        raise ValueError(f'label raster {path!r} has shape {labels.shape}; '
                         'expected one band (rows x columns)')
    if len(values) > 254:
        raise ValueError(f'{len(values)} classes: label maps are 8-bit PNGs '
                         'and hold at most 254 classes')
    found, counts = np.unique(labels, return_counts=True)
    known = set(values) | set(ignore)
    unknown = [(v, c) for v, c in zip(found.tolist(), counts.tolist())
               if v not in known]
    if unknown:
        listed = ', '.join(f'{v} ({c} px)' for v, c in unknown[:8])
        raise ValueError(
            f'label raster {path!r} holds value(s) {listed} outside the '
            f'class values {list(values)} and ignored values {list(ignore)}; '
            'add them to --values (with a name in --classes) or to --ignore')
    ids = np.zeros(labels.shape, np.uint8)
    for k, value in enumerate(values):
        ids[labels == value] = k + 1
    return ids
