"""Turn an image raster and a label raster into an mmseg dataset with
spatially disjoint train / val / test blocks.

Reads GeoTIFF / TIFF (rasterio where installed, else tifffile), ``.mat``
(hyperspectral benchmarks), ``.npy``, PNG or JPEG, or a folder of
GeoTIFF tiles put together by their georeference; writes ``img_dir/``,
``ann_dir/`` (0 = ignore, 1..C), ``dataset.py`` (the classes and palette,
for the other tools' ``--config``), ``summary.json`` and ``split_map.png``.

Examples::

    python tools/prepare_raster.py scene.tif labels.tif --out data/scene
    python tools/prepare_raster.py pan.tif footprints.tif --out data/atl \\
        --classes background,building --values 0,255
    python tools/prepare_raster.py sheets/ footprint_sheets/ --out data/city
    python tools/prepare_raster.py Indian_pines_corrected.mat \\
        Indian_pines_gt.mat --out data/pines --bands 29,19,9 --ignore 0 \\
        --tile 16 --block 48 --min-labelled 0.25
"""
import argparse

from dldm_mmseg.datasets.raster_preparation import (RasterSettings,
                                                    prepare_raster,
                                                    split_lines)


def _numbers(kind, text, count=None):
    try:
        values = tuple(kind(v) for v in text.split(',') if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r}: expected comma-separated {kind.__name__} values')
    if count is not None and len(values) != count:
        raise argparse.ArgumentTypeError(f'{text!r}: expected {count} values')
    return values


def _palette(text):
    colours = [list(_numbers(int, c, 3)) for c in text.split(';')]
    if any(not 0 <= v <= 255 for c in colours for v in c):
        raise argparse.ArgumentTypeError(f'{text!r}: colours are 0..255')
    return colours


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('image', help='image raster (.tif, .mat, .npy, .png),'
                        ' or a folder of GeoTIFF tiles put together by their '
                        'georeference (gaps get the tiles\' nodata)')
    parser.add_argument('labels', help='label raster on the same pixel grid '
                        '(or a folder of tiles, as the image)')
    parser.add_argument('--out', required=True, help='output dataset folder')
    parser.add_argument('--name', default='scene',
                        help='tile name prefix and dataset name')
    parser.add_argument('--bands', type=lambda t: _numbers(int, t),
                        help='three band numbers R,G,B counted from 1, or '
                        'one (grey); default: the first three, or the only '
                        'one')
    parser.add_argument('--percentiles', default=(2.0, 98.0),
                        type=lambda t: _numbers(float, t, 2),
                        help='low,high percentile of each band mapped to '
                        '0 and 255 (default: 2,98)')
    parser.add_argument('--image-nodata', type=float,
                        help="image value of missing pixels (default: the "
                        "file's nodata); they become ignore")
    parser.add_argument('--classes', type=lambda t: tuple(
        c.strip() for c in t.split(',')), help='class names, one per label '
        'value (default: class_<value>)')
    parser.add_argument('--values', type=lambda t: _numbers(int, t),
                        help='label values of the classes (default: every '
                        'value not ignored, sorted)')
    parser.add_argument('--ignore', type=lambda t: _numbers(int, t),
                        default=(), help='label values that mean unlabelled '
                        "(besides the file's nodata)")
    parser.add_argument('--palette', type=_palette,
                        help='display colours "r,g,b;r,g,b;..." one per '
                        'class (default: a distinct palette)')
    parser.add_argument('--tile', type=int, default=64,
                        help='tile size in pixels (default: 64)')
    parser.add_argument('--stride', type=int,
                        help='train tile stride (default: the tile size); '
                        'val and test tiles never overlap')
    parser.add_argument('--block', type=int,
                        help='split block size in pixels (default: 4 tiles)')
    parser.add_argument('--split', default=(60.0, 20.0, 20.0),
                        type=lambda t: _numbers(float, t, 3),
                        help='train,val,test shares of the labelled pixels '
                        '(default: 60,20,20)')
    parser.add_argument('--min-labelled', type=float, default=0.5,
                        help='keep tiles with at least this fraction of '
                        'labelled pixels (default: 0.5)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the block assignment')
    parser.add_argument('--stratify', action='store_true',
                        help='deal blocks so that every split holds its '
                        'share of each class, rare ones included')
    parser.add_argument('--holdout-block', type=int,
                        help='cut the val and test blocks into cells of '
                        'this many pixels (rounded down to whole tiles) '
                        'and deal each block\'s cells '
                        'between val and test, so both draw from every '
                        'held-out part of the scene (train is unchanged)')
    parser.add_argument('--image-key', help='array of a .mat image file')
    parser.add_argument('--label-key', help='array of a .mat label file')
    parser.add_argument('--force', action='store_true',
                        help='replace an --out folder made otherwise')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    settings = RasterSettings(
        bands=args.bands, percentiles=args.percentiles,
        image_nodata=args.image_nodata, classes=args.classes,
        values=args.values, ignore=args.ignore, palette=args.palette,
        tile=args.tile, stride=args.stride, block=args.block,
        split=args.split, min_labelled=args.min_labelled, seed=args.seed,
        stratify=args.stratify, holdout_block=args.holdout_block,
        name=args.name, image_key=args.image_key,
        label_key=args.label_key)
    summary = prepare_raster(args.image, args.labels, args.out, settings,
                             force=args.force)
    print('\n'.join(split_lines(summary)))
    print(f'wrote {args.out} (dataset config: {args.out}/dataset.py)')
    return summary


if __name__ == '__main__':
    main()
