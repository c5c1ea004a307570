"""ISPRS Potsdam / Vaihingen downloads -> mmseg-format patches.

Reads the archives as downloaded (``2_Ortho_RGB.zip``,
``5_Labels_all.zip`` / ``5_Labels_all_noBoundary.zip`` for Potsdam;
``ISPRS_semantic_labeling_Vaihingen.zip`` and
``ISPRS_semantic_labeling_Vaihingen_ground_truth[_eroded]_COMPLETE.zip`` for
Vaihingen) or the same files unpacked in folders, and writes::

    OUT/img_dir/{train,val}/<tile>_<x0>_<y0>_<x1>_<y1>.png   RGB patches
    OUT/ann_dir/{train,val}/<tile>_<x0>_<y0>_<x1>_<y1>.png   labels

with mmseg's encoding (0 = ignore / boundary, 1..6 = impervious surface,
building, low vegetation, tree, car, clutter; ``reduce_zero_label=True``)
and mmseg's standard train/val split of the tiles. Tiles are cut into
``clip_size`` patches every ``stride`` pixels, the last row and column
shifted to end at the border; the default stride of 512 gives the paper's
3456 Potsdam training patches. Every patch is written atomically and
existing patches are kept, so a killed run resumes.
"""
import argparse
import math
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from dldm_mmseg.utils.io import atomic_write_image, remove_stale_temporaries
from dldm_mmseg.utils.label_stats import from_train_ids
from dldm_mmseg.utils.palette import rgb_to_index
from dldm_mmseg.utils.progress import progress_bar
from .isprs_tiles import TileFile, _is_ground_truth, find_tile_files

ISPRS_PALETTE = [[255, 255, 255], [0, 0, 255], [0, 255, 255], [0, 255, 0],
                 [255, 255, 0], [255, 0, 0]]
BOUNDARY_COLOUR = (0, 0, 0)


@dataclass(frozen=True)
class DatasetSpec:
    """Naming and split of one ISPRS dataset."""
    name: str
    image_pattern: str
    label_pattern: str  # group 'tile', optional group 'nb' (noBoundary)
    splits: Dict[str, Tuple[str, ...]]
    downloads: str
    excluded: Tuple[str, ...] = field(default=())


POTSDAM = DatasetSpec(
    name='potsdam',
    image_pattern=r'top_potsdam_(?P<tile>\d+_\d+)_RGB\.tif$',
    label_pattern=r'top_potsdam_(?P<tile>\d+_\d+)_label(?P<nb>_noBoundary)?'
                  r'\.tif$',
    splits=dict(
        train=('2_10', '2_11', '2_12', '3_10', '3_11', '3_12', '4_10', '4_11',
               '4_12', '5_10', '5_11', '5_12', '6_10', '6_11', '6_12', '6_7',
               '6_8', '6_9', '7_10', '7_11', '7_12', '7_7', '7_8', '7_9'),
        val=('5_15', '6_15', '6_13', '3_13', '4_14', '6_14', '5_14', '2_13',
             '4_15', '2_14', '5_13', '4_13', '3_14', '7_13')),
    downloads='2_Ortho_RGB.zip and 5_Labels_all.zip (or '
              '5_Labels_all_noBoundary.zip)')

VAIHINGEN = DatasetSpec(
    name='vaihingen',
    image_pattern=r'top_mosaic_09cm_area(?P<tile>\d+)\.tif$',
    label_pattern=r'top_mosaic_09cm_area(?P<tile>\d+)(?P<nb>_noBoundary)?'
                  r'\.tif$',
    splits=dict(
        train=('1', '11', '13', '15', '17', '21', '23', '26', '28', '3', '30',
               '32', '34', '37', '5', '7'),
        val=('6', '24', '35', '16', '14', '22', '10', '4', '2', '20', '8',
             '31', '33', '27', '38', '12', '29')),
    downloads='ISPRS_semantic_labeling_Vaihingen.zip and '
              'ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_'
              'COMPLETE.zip (or ..._ground_truth_COMPLETE.zip)',
    excluded=('9',))  # area9 has labels only in the eroded set, no split

SPECS = {spec.name: spec for spec in (POTSDAM, VAIHINGEN)}


def match_tiles(files: List[TileFile], spec: DatasetSpec,
                boundary: str = 'auto'
                ) -> Dict[str, Tuple[TileFile, TileFile]]:
    """Pair image and label files by tile id.

    Args:
        boundary (str): Which labels to use: ``'noBoundary'`` (eroded, the
            boundary pixels black and ignored), ``'full'``, or ``'auto'``
            (noBoundary when present). Defaults to ``'auto'``.
    """
    if boundary not in ('auto', 'noBoundary', 'full'):
        raise ValueError(f'boundary must be auto, noBoundary or full, got '
                         f'{boundary!r}')
    images, labels = {}, {'full': {}, 'noBoundary': {}}
    for f in files:
        label = re.search(spec.label_pattern, f.name)
        image = re.search(spec.image_pattern, f.name)
        # Vaihingen images and full labels share a name; the archive or
        # folder ("..._ground_truth_...") tells them apart.
        if label and (label['nb'] or (not image or _is_ground_truth(
                f.origin[:-len(f.name)]))):
            kind = 'noBoundary' if label['nb'] else 'full'
            labels[kind].setdefault(label['tile'], f)
        elif image:
            images.setdefault(image['tile'], f)
    if boundary == 'auto':
        boundary = 'noBoundary' if labels['noBoundary'] else 'full'
    labels = labels[boundary]
    if not images or not labels:
        raise FileNotFoundError(
            f'found {len(images)} {spec.name} image tiles and {len(labels)} '
            f'{boundary} label tiles; expected the downloads {spec.downloads}'
            ' (zipped or unpacked) in the raw data folder')
    known = set(spec.splits['train']) | set(spec.splits['val'])
    pairs = {}
    for tile in sorted(set(images) | set(labels)):
        if tile in spec.excluded or tile not in known:
            continue
        if tile not in labels:
            raise FileNotFoundError(
                f'tile {tile}: image {images[tile].origin} has no {boundary} '
                f'label tile; check the label download ({spec.downloads})')
        if tile not in images:
            raise FileNotFoundError(
                f'tile {tile}: label {labels[tile].origin} has no image tile;'
                f' check the image download ({spec.downloads})')
        pairs[tile] = (images[tile], labels[tile])
    return pairs


def patch_boxes(height: int, width: int, clip_size: int, stride: int
                ) -> List[Tuple[int, int, int, int]]:
    """``(x0, y0, x1, y1)`` boxes covering the tile; the last row/column is
    shifted to end at the border. Tiles smaller than ``clip_size`` give one
    box of the tile size."""
    if clip_size <= 0 or stride <= 0:
        raise ValueError(f'clip_size and stride must be > 0, got {clip_size},'
                         f' {stride}')

    def starts(length):
        if length <= clip_size:
            return [0]
        count = math.ceil((length - clip_size) / stride) + 1
        return sorted({min(i * stride, length - clip_size)
                       for i in range(count)})

    return [(x, y, min(x + clip_size, width), min(y + clip_size, height))
            for y in starts(height) for x in starts(width)]


def prepare_isprs(raw_dir: str, out_dir: str, dataset: str = 'potsdam',
                  clip_size: int = 512, stride: int = 512,
                  boundary: str = 'auto', off_palette: str = 'error',
                  splits: Optional[Tuple[str, ...]] = ('train', 'val')
                  ) -> Dict[str, int]:
    """Convert ISPRS downloads into mmseg-format patches.

    Args:
        raw_dir (str): Folder with the downloads (zips or unpacked).
        out_dir (str): Output dataset root.
        dataset (str): ``'potsdam'`` or ``'vaihingen'``.
        clip_size (int): Patch size. Defaults to 512.
        stride (int): Step between patches. Defaults to 512.
        boundary (str): Label version, see :func:`match_tiles`.
        off_palette (str): Label colours outside the palette: ``'error'``,
            ``'nearest'`` or ``'ignore'``. Defaults to ``'error'``.
        splits (tuple[str]): Which splits to write.

    Returns:
        dict: Number of patches per split.
    """
    if dataset not in SPECS:
        raise ValueError(f'dataset must be one of {sorted(SPECS)}, got '
                         f'{dataset!r}')
    spec = SPECS[dataset]
    pairs = match_tiles(find_tile_files(raw_dir), spec, boundary)
    split_of = {tile: split for split in splits
                for tile in spec.splits[split]}
    todo = {tile: pair for tile, pair in pairs.items() if tile in split_of}
    for sub in ('img_dir', 'ann_dir'):
        for split in splits:
            remove_stale_temporaries(osp.join(out_dir, sub, split))
    counts = {split: 0 for split in splits}
    print(f'{spec.name}: {len(todo)} tiles -> {out_dir} '
          f'({clip_size}px patches, stride {stride})')
    progress = progress_bar(len(todo), f'{spec.name} tiles')
    for tile, (image_file, label_file) in todo.items():
        split = split_of[tile]
        image = image_file.read_rgb()
        colour_label = label_file.read_rgb()
        if image.shape[:2] != colour_label.shape[:2]:
            raise ValueError(
                f'tile {tile}: image {image_file.origin} is '
                f'{image.shape[1]}x{image.shape[0]} but label '
                f'{label_file.origin} is {colour_label.shape[1]}x'
                f'{colour_label.shape[0]}; the two downloads do not match')
        index = rgb_to_index(colour_label, ISPRS_PALETTE,
                             ignore_colors=[BOUNDARY_COLOUR], ignore_value=255,
                             off_palette=off_palette, path=label_file.origin)
        # mmseg encoding: 0 = ignore, 1..6 = classes.
        label = from_train_ids(index, reduce_zero_label=True)
        prefix = tile if spec.name == 'potsdam' else f'area{tile}'
        for x0, y0, x1, y1 in patch_boxes(*image.shape[:2], clip_size, stride):
            name = f'{prefix}_{x0}_{y0}_{x1}_{y1}.png'
            img_path = osp.join(out_dir, 'img_dir', split, name)
            ann_path = osp.join(out_dir, 'ann_dir', split, name)
            if not osp.isfile(img_path):
                atomic_write_image(img_path, image[y0:y1, x0:x1])
            if not osp.isfile(ann_path):
                atomic_write_image(ann_path, label[y0:y1, x0:x1])
            counts[split] += 1
        progress.update()
    print('\npatches: ' + ', '.join(f'{k} {v}' for k, v in counts.items()))
    return counts


def parse_args(argv=None, dataset='potsdam'):
    """Arguments of ``tools/prepare_potsdam.py`` / ``prepare_vaihingen.py``."""
    parser = argparse.ArgumentParser(description=(
        'Convert ISPRS Potsdam or Vaihingen downloads into mmseg-format '
        'patches with the standard split'))
    parser.add_argument('raw_dir', help='folder with the downloaded zips or '
                        'their unpacked contents')
    parser.add_argument('out_dir', nargs='?', default=None,
                        help='output root (default: data/<dataset>)')
    parser.add_argument('--dataset', choices=['potsdam', 'vaihingen'],
                        default=dataset, help='which ISPRS set the '
                        'downloads are (default: %(default)s)')
    parser.add_argument('--clip-size', type=int, default=512,
                        help='patch size in pixels (default: 512)')
    parser.add_argument('--stride', type=int, default=512,
                        help='512: non-overlapping (the paper\'s 3456 '
                        'Potsdam training patches); mmseg\'s converter '
                        'uses 256')
    parser.add_argument('--boundary', choices=['auto', 'noBoundary', 'full'],
                        default='auto', help='label version (auto: '
                        'noBoundary when downloaded)')
    parser.add_argument('--off-palette', choices=['error', 'nearest',
                                                  'ignore'],
                        default='error', help='label colours outside the '
                        'palette: stop, snap to the nearest class, or ignore')
    return parser.parse_args(argv)


def main(argv=None, dataset='potsdam'):
    """The command line of ``tools/prepare_potsdam.py``; ``dataset`` is
    the default of ``--dataset``."""
    args = parse_args(argv, dataset)
    out_dir = args.out_dir or osp.join('data', args.dataset)
    return prepare_isprs(args.raw_dir, out_dir, args.dataset, args.clip_size,
                         args.stride, args.boundary, args.off_palette)
