"""An image raster and its label raster -> an mmseg dataset with spatially
disjoint train / val / test splits. Either may be a folder of GeoTIFF
tiles, put together by their georeference (:mod:`.raster_mosaic`).

The scene is cut into a grid of blocks (``block`` pixels or a little more,
so the grid fills the scene); each block goes to one split, so that the
labelled pixels of the splits come as close as the blocks allow to the
asked fractions, or, with ``stratify``, the pixels of every class. Tiles
are cut inside blocks only: no tile of one split overlaps another split's
footprint, and train tiles strided closer than their size never reach
into val or test. Val and test tiles never overlap
each other (each pixel is scored once). With ``holdout_block`` the blocks
dealt to val or test are cut again, into cells of that many pixels, and
each such block's cells are dealt between val and test: train keeps the
same blocks, and val and test both draw from every held-out part of the
scene (a land use found in one held-out block is, wherever the block's
kept tiles lie in more than one cell, scored in both; val and test tiles
then touch, so the two splits are spatially closer than val and train).
The output::

    OUT/img_dir/{train,val,test}/<name>_r<row>_c<col>.png   8-bit RGB
    OUT/ann_dir/{train,val,test}/<name>_r<row>_c<col>.png   0 = ignore, 1..C
    OUT/dataset.py       source_dataset (classes, palette) for --config
    OUT/summary.json     tiles and class shares per split, and the inputs
    OUT/split_map.png    the scene tinted by split
    OUT/label_map.png    the scene with each class's display colour over
                         its pixels (a misaligned label raster shows here)

is written to a temporary folder and renamed into place when complete.
"""
import json
import os.path as osp
from dataclasses import asdict, dataclass
from typing import List, Optional, Tuple

import numpy as np

from dldm_mmseg.utils.hashing import differing_keys
from dldm_mmseg.utils.io import atomic_directory, atomic_write_image
from dldm_mmseg.utils.progress import progress_bar
from .raster_io import label_ids, select_bands, stretch_to_uint8
from .raster_mosaic import read_scene, scene_sha256
from .raster_split import assign_blocks, block_edges, grid_counts, regions

SPLITS = ('train', 'val', 'test')
SPLIT_TINTS = np.array([[40, 110, 255], [255, 150, 0], [0, 200, 90]])
# A display palette for prepared sets that name none: distinct colours
# (tab20's order), then golden-ratio hues for more classes.
DEFAULT_PALETTE = [
    [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40],
    [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127],
    [188, 189, 34], [23, 190, 207], [174, 199, 232], [255, 187, 120],
    [152, 223, 138], [255, 152, 150], [197, 176, 213], [196, 156, 148],
    [247, 182, 210], [199, 199, 199], [219, 219, 141], [158, 218, 229]]


@dataclass
class RasterSettings:
    """What :func:`prepare_raster` does with a scene (the CLI's options)."""
    bands: Optional[Tuple[int, ...]] = None
    percentiles: Tuple[float, float] = (2.0, 98.0)
    image_nodata: Optional[float] = None
    classes: Optional[Tuple[str, ...]] = None
    values: Optional[Tuple[int, ...]] = None
    ignore: Tuple[int, ...] = ()
    palette: Optional[List[List[int]]] = None
    tile: int = 64
    stride: Optional[int] = None
    block: Optional[int] = None
    split: Tuple[float, float, float] = (60.0, 20.0, 20.0)
    min_labelled: float = 0.5
    seed: int = 0
    stratify: bool = False
    holdout_block: Optional[int] = None
    name: str = 'scene'
    image_key: Optional[str] = None
    label_key: Optional[str] = None


def default_palette(num_classes: int) -> List[List[int]]:
    """``num_classes`` distinct display colours."""
    import colorsys
    palette = [list(c) for c in DEFAULT_PALETTE[:num_classes]]
    k = 0
    while len(palette) < num_classes:
        rgb = colorsys.hsv_to_rgb((k * 0.618034) % 1.0, 0.75, 0.9)
        colour = [int(round(255 * v)) for v in rgb]
        k += 1
        if colour not in palette:
            palette.append(colour)
    return palette


def tile_starts(start: int, stop: int, tile: int, stride: int,
                shift_last: bool) -> List[int]:
    """Tile origins in ``start..stop``; with ``shift_last`` a last tile
    ends at ``stop``."""
    starts = list(range(start, stop - tile + 1, stride))
    if shift_last and starts and starts[-1] + tile < stop:
        starts.append(stop - tile)
    return starts


def _scene(image_path, label_path, settings: RasterSettings):
    image, image_nodata = read_scene(image_path, settings.image_key)
    labels, label_nodata = read_scene(label_path, settings.label_key)
    if image.shape[:2] != labels.shape[:2]:
        raise ValueError(
            f'image {image_path!r} is {image.shape[1]}x{image.shape[0]} px '
            f'but labels {label_path!r} are {labels.shape[1]}x'
            f'{labels.shape[0]}; give a label raster on the same pixel grid '
            '(resample it with gdalwarp -tr / -te first)')
    nodata = settings.image_nodata if settings.image_nodata is not None \
        else image_nodata
    rgb = select_bands(image, settings.bands, image_path)
    valid = np.ones(rgb.shape[:2], bool) if nodata is None else \
        ~np.any(rgb == nodata, axis=-1)
    rgb = stretch_to_uint8(rgb, valid, settings.percentiles)
    ignore = list(settings.ignore)
    if label_nodata is not None and label_nodata not in ignore:
        ignore.append(int(label_nodata))
    values = list(settings.values) if settings.values is not None else \
        [v for v in np.unique(labels).tolist() if v not in ignore]
    classes = list(settings.classes) if settings.classes is not None else \
        [f'class_{v}' for v in values]
    if len(classes) != len(values):
        raise ValueError(
            f'{len(classes)} class name(s) {classes} for {len(values)} label '
            f'value(s) {values} of {label_path!r}; give one name per value '
            '(--classes) or list the values (--values)')
    ids = label_ids(labels, values, ignore, label_path)
    ids[~valid] = 0
    return rgb, ids, classes, ignore


def _tiles(ids, cut, settings):
    tile = settings.tile
    stride = settings.stride or tile
    found = {name: [] for name in SPLITS}
    for y0, y1, x0, x1, split in cut:
        name = SPLITS[split]
        step, shift = (stride, True) if name == 'train' else (tile, False)
        for y in tile_starts(y0, y1, tile, step, shift):
            for x in tile_starts(x0, x1, tile, step, shift):
                labelled = (ids[y:y + tile, x:x + tile] > 0).mean()
                if labelled > 0 and labelled >= settings.min_labelled:
                    found[name].append((y, x))
    return found


def _shares(ids, origins, tile, num_classes):
    counts = np.zeros(num_classes + 1, np.int64)
    for y, x in origins:
        counts += np.bincount(ids[y:y + tile, x:x + tile].ravel(),
                              minlength=num_classes + 1)
    labelled = counts[1:].sum()
    return counts[1:] / max(labelled, 1), int(labelled)


def settings_identity(settings: RasterSettings) -> dict:
    """The settings as a prepared folder's ``summary.json`` records them."""
    written = asdict(settings)
    # folders prepared before an option existed keep their identity
    if not settings.stratify:
        del written['stratify']
    if settings.holdout_block is None:
        del written['holdout_block']
    return json.loads(json.dumps(written))


def identity(image_path, label_path, settings: RasterSettings) -> dict:
    """What made a prepared folder: the inputs' content hashes and the
    settings (not the files' paths: a moved scene is the same scene)."""
    return dict(image_sha256=scene_sha256(image_path),
                labels_sha256=scene_sha256(label_path),
                settings=settings_identity(settings))


def _check_layout(settings, height, width, rows, cols):
    tile = settings.tile
    if tile <= 0 or (settings.stride is not None and settings.stride <= 0):
        raise ValueError(f'--tile {tile} / --stride {settings.stride} must '
                         'be > 0')
    if tile > min(height, width):
        raise ValueError(f'--tile {tile} is larger than the scene '
                         f'({width}x{height} px); use a tile of at most '
                         f'{min(height, width)} px')
    smallest = min(np.diff(rows).min(), np.diff(cols).min())
    if tile > smallest:
        raise ValueError(f'--tile {tile} does not fit the blocks of '
                         f'{smallest} px; use a --block of at least {tile}')
    if len(settings.split) != 3 or min(settings.split) < 0 or \
            sum(settings.split) <= 0:
        raise ValueError(f'--split {settings.split}: give three '
                         'non-negative train,val,test weights, e.g. 60,20,20')
    held_out = settings.holdout_block
    if held_out is not None:
        if held_out < tile:
            raise ValueError(f'--holdout-block {held_out} is smaller than '
                             f'--tile {tile}; give at least {tile} px')
        if min(settings.split[1:]) <= 0:
            raise ValueError(f'--holdout-block deals held-out blocks between '
                             f'val and test, but --split {settings.split} '
                             'gives one of them no weight; give both a '
                             'weight, or leave --holdout-block out')
        # a block is cut only when a tile fits beside its first cell
        side = max(np.diff(rows).min(), np.diff(cols).min())
        if held_out // tile * tile + tile > side:
            raise ValueError(f'--holdout-block {held_out} leaves the '
                             f'{side} px blocks whole (a cell and a '
                             f'{tile} px tile must fit in one); give at most '
                             f'{side - tile} px, or leave it out')


def _summary(ids, found, settings, classes, palette, grid):
    summary = dict(name=settings.name, classes=classes, palette=palette,
                   tile=settings.tile, block_grid=grid, splits={})
    counts = np.bincount(ids.ravel(), minlength=len(classes) + 1)[1:]
    scene_shares, scene_labelled = counts / max(counts.sum(), 1), \
        int(counts.sum())
    summary['scene'] = dict(labelled_pixels=scene_labelled,
                            shares=dict(zip(classes, scene_shares.round(6)
                                            .tolist())))
    for name in SPLITS:
        shares, labelled = _shares(ids, found[name], settings.tile,
                                   len(classes))
        summary['splits'][name] = dict(
            tiles=len(found[name]), labelled_pixels=labelled,
            shares=dict(zip(classes, shares.round(6).tolist())))
    return summary


def _split_map(rgb, ids, cut):
    tint = np.zeros(rgb.shape, np.float64)
    for y0, y1, x0, x1, split in cut:
        tint[y0:y1, x0:x1] = SPLIT_TINTS[split]
    return _preview(0.6 * rgb + 0.4 * tint, ids)


def _label_map(rgb, ids, palette):
    shown = rgb.astype(np.float64)
    colours = np.asarray(palette, np.float64)
    labelled = ids > 0
    shown[labelled] = 0.55 * shown[labelled] + 0.45 * colours[
        ids[labelled] - 1]
    return _preview(shown, ids)


def _preview(shown, ids):
    """``shown`` with unlabelled pixels darkened, as 8-bit at most about
    1024 px a side."""
    shown[ids == 0] *= 0.4
    step = max(1, max(shown.shape[:2]) // 1024)
    return shown[::step, ::step].round().astype(np.uint8)


def split_lines(summary: dict) -> List[str]:
    """A line per split of a prepared dataset's summary: its tiles and
    class shares, as the preparation tools print them."""
    return [f'{name}: {split["tiles"]} tiles (' + ', '.join(
        f'{c} {100 * s:.1f}%' for c, s in split['shares'].items()) + ')'
        for name, split in summary['splits'].items()]


def split_share_warnings(summary: dict, stratified: bool = False,
                         below: float = 0.5,
                         apart: float = 1.5) -> List[str]:
    """A line for each class whose share of the val or test pixels is
    under ``below`` times its share of the scene (scores of that class on
    that split would rest on a few pixels), and for each class whose val
    and test shares differ by more than ``apart`` times (settings chosen
    on val would be judged on a split that weighs the class otherwise)."""
    fix = 'a smaller --block' if stratified else \
        '--stratify (or another --seed, or a smaller --block)'
    lines = []
    scene = summary['scene']['shares']
    held_out = {name: summary['splits'][name] for name in SPLITS[1:]
                if summary['splits'][name]['tiles']}
    for name, split in held_out.items():
        for cls, share in split['shares'].items():
            if share < below * scene[cls]:
                lines.append(
                    f'{cls!r} is {share:.1%} of the {name} pixels but '
                    f'{scene[cls]:.1%} of the scene; {fix} deals it more '
                    'evenly')
    if len(held_out) == 2:
        val, test = (held_out[n]['shares'] for n in SPLITS[1:])
        for cls in val:
            low, high = sorted((val[cls], test[cls]))
            if high > apart * low:
                lines.append(
                    f'{cls!r} is {val[cls]:.1%} of the val pixels but '
                    f'{test[cls]:.1%} of the test pixels: what val picks '
                    f'may not hold on test for this class; {fix} deals it '
                    'more evenly')
    return lines


def _dataset_config(name, classes, palette):
    source = dict(type='BaseSegDataset', reduce_zero_label=True,
                  metainfo=dict(classes=tuple(classes), palette=palette))
    return (f'"""{name}, prepared by tools/prepare_raster.py (its '
            'summary.json says from what)."""\n'
            "data_root = '{{ fileDirname }}'\n"
            f'source_dataset = {source!r}\n')


def prepare_raster(image_path: str, label_path: str, out_dir: str,
                   settings: Optional[RasterSettings] = None,
                   force: bool = False) -> dict:
    """Prepare ``out_dir`` from a scene; see the module docstring.

    Args:
        image_path (str): The image raster.
        label_path (str): The label raster, on the same pixel grid.
        out_dir (str): Output folder. One prepared from the same inputs and
            settings is kept as it is (its warnings are checked again);
            anything else there is refused unless ``force``, which
            replaces the folder.
        settings (RasterSettings, optional): Bands, classes, tiling, split.
        force (bool): Replace an ``out_dir`` made otherwise.

    Returns:
        dict: The summary (also ``out_dir/summary.json``).

    Raises:
        ValueError: Rasters of different sizes, labels outside the class
            list, a tile larger than the scene, a split without a
            labelled tile.
        FileExistsError: ``out_dir`` holds something else and not
            ``force``.
    """
    settings = settings or RasterSettings()
    made_by = identity(image_path, label_path, settings)
    summary_file = osp.join(out_dir, 'summary.json')
    if osp.exists(out_dir) and not force:
        old, budget = None, None
        if osp.isfile(summary_file):
            with open(summary_file, encoding='utf-8') as f:
                made = json.load(f)
            old, budget = made.get('made_by'), made.get('label_budget')
        if budget is not None:
            raise FileExistsError(
                f'{out_dir} holds a label budget of {budget["source"]} '
                f'({budget["train_tiles"]} train tiles, '
                'tools/label_budget.py), not the whole dataset; choose '
                'another --out, or --force to replace it')
        if old == made_by:
            print(f'{out_dir} is already prepared from these inputs and '
                  'settings; kept')
            with open(summary_file, encoding='utf-8') as f:
                summary = json.load(f)
            # today's checks, also for a folder made before one was added
            summary['warnings'] = split_share_warnings(summary,
                                                       settings.stratify)
            for line in summary['warnings']:
                print('warning:', line)
            return summary
        differs = 'it holds no summary.json' if old is None else \
            'made from other ' + ', '.join(differing_keys(made_by, old))
        raise FileExistsError(f'{out_dir} exists ({differs}); choose another '
                              '--out, or --force to replace it')
    rgb, ids, classes, _ = _scene(image_path, label_path, settings)
    palette = settings.palette or default_palette(len(classes))
    if len(palette) != len(classes):
        raise ValueError(f'--palette has {len(palette)} colours for '
                         f'{len(classes)} classes {classes}')
    height, width = ids.shape
    rows = block_edges(height, settings.block or 4 * settings.tile)
    cols = block_edges(width, settings.block or 4 * settings.tile)
    _check_layout(settings, height, width, rows, cols)
    counts = grid_counts(ids, rows, cols, len(classes))
    splits = assign_blocks(counts.sum(-1), settings.split, settings.seed,
                           counts if settings.stratify else None)
    cut = regions(ids, splits, rows, cols, settings, len(classes))
    found = _tiles(ids, cut, settings)
    grid = f'{len(rows) - 1}x{len(cols) - 1}'
    for name, weight in zip(SPLITS, settings.split):
        if weight > 0 and not found[name]:
            raise ValueError(
                f'split {name!r} has no tile with >= '
                f'{settings.min_labelled:.0%} labelled pixels (the scene is '
                f'cut into {grid} blocks of about {np.diff(rows).min()} px, '
                f'tiles of {settings.tile} px' + (
                    '' if settings.holdout_block is None else
                    f', val and test cells of {settings.holdout_block} px')
                + '); use a smaller --block or '
                '--tile, a lower --min-labelled' +
                ('' if settings.stratify else ', or another --seed'))
    summary = _summary(ids, found, settings, classes, palette, grid)
    summary['inputs'] = dict(image=osp.abspath(image_path),
                             labels=osp.abspath(label_path))
    summary['made_by'] = made_by
    summary['warnings'] = split_share_warnings(summary, settings.stratify)
    for line in summary['warnings']:
        print('warning:', line)
    tile = settings.tile
    with atomic_directory(out_dir) as tmp:
        bar = progress_bar(sum(map(len, found.values())), 'tiles')
        for name in SPLITS:
            for y, x in found[name]:
                stem = f'{settings.name}_r{y:05d}_c{x:05d}.png'
                atomic_write_image(osp.join(tmp, 'img_dir', name, stem),
                                   rgb[y:y + tile, x:x + tile])
                atomic_write_image(osp.join(tmp, 'ann_dir', name, stem),
                                   ids[y:y + tile, x:x + tile])
                bar.update()
        atomic_write_image(osp.join(tmp, 'split_map.png'),
                           _split_map(rgb, ids, cut))
        atomic_write_image(osp.join(tmp, 'label_map.png'),
                           _label_map(rgb, ids, palette))
        with open(osp.join(tmp, 'dataset.py'), 'w', encoding='utf-8') as f:
            f.write(_dataset_config(settings.name, classes, palette))
        with open(osp.join(tmp, 'summary.json'), 'w', encoding='utf-8') as f:
            json.dump(summary, f, indent=1)
    return summary
