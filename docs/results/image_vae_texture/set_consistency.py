"""The consistency figures of ``tools/analyze.py``'s summaries of two or
more synthetic sets (``<work>/analysis_<name>/summary.json``), side by
side in ``<here>/set_consistency.json``::

    python docs/results/image_vae_texture/set_consistency.py \\
        work_dirs/vtex docs/results/image_vae_texture shipped picked
"""
import argparse
import json

from dldm_mmseg.utils.io import atomic_open


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work', help='the folder holding analysis_<name>/')
    parser.add_argument('here', help='where set_consistency.json goes')
    parser.add_argument('names', nargs='+')
    args = parser.parse_args()
    out = {}
    for name in args.names:
        with open(f'{args.work}/analysis_{name}/summary.json') as f:
            out[name] = {k: v for k, v in json.load(f).items()
                         if k.startswith('consistency_')
                         and k != 'consistency_filter'}
    with atomic_open(f'{args.here}/set_consistency.json') as f:
        json.dump(out, f, indent=1)


if __name__ == '__main__':
    main()
