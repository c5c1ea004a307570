"""Convert ISPRS Potsdam (or, with --dataset vaihingen, Vaihingen) downloads
into mmseg-format 512x512 patches with the standard split.

Example::

    python tools/prepare_potsdam.py RAW_DIR data/potsdam
    python tools/prepare_potsdam.py RAW_DIR data/vaihingen --dataset vaihingen
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from dldm_mmseg.datasets.isprs_preparation import prepare_isprs  # noqa: E402


def parse_args(argv=None, dataset='potsdam'):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
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
    args = parse_args(argv, dataset)
    out_dir = args.out_dir or osp.join('data', args.dataset)
    return prepare_isprs(args.raw_dir, out_dir, args.dataset, args.clip_size,
                         args.stride, args.boundary, args.off_palette)


if __name__ == '__main__':
    main()
