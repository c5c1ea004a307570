"""The demo's segmentation step for more seeds on a finished demo work dir.

``tools/demo.py --seeds N`` trains stage 1 again for every seed, for the
spread of its mCPE; the segmentors of every seed train on the synthetic
sets of ``--seed`` either way. This script runs only the segmentors of the
seeds given (``Demo.segmentation``, the demo's own step, reusing what the
work dir holds by run identity) and writes their test metrics, so the
spread of the downstream comparison can be measured without stage 1::

    python docs/results/real_atlanta_labels_fixed/segmentor_seeds.py \
        --seeds-of-segmentors 1 2 --out segmentor_seeds.json -- \
        --dataset spacenet_atlanta --weak-classes --class-filter \
        --seg-guidance 0.25

Everything after ``--`` is ``tools/demo.py``'s arguments of the finished
run (the same ones, or the work dir refuses them). A later
``tools/demo.py --seeds 3`` in that work dir reuses these runs.
``--more-alphas`` adds alphas the run did not train (an alpha sweep over
its synthetic set), in the same sweep folders.
"""
import argparse
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
sys.path.insert(0, osp.join(ROOT, 'tools'))

from demo import parse_args  # noqa: E402  (tools/demo.py)

from dldm_mmseg.experiments.demo import finished_demo  # noqa: E402
from dldm_mmseg.utils.compat import speed_up_configs  # noqa: E402
from dldm_mmseg.utils.io import atomic_open  # noqa: E402


def main():
    argv = sys.argv[1:]
    ours, theirs = (argv[:argv.index('--')], argv[argv.index('--') + 1:]) \
        if '--' in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds-of-segmentors', type=int, nargs='+',
                        required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--alphas', type=float, nargs='+',
                        help='only these of the run\'s alphas (default: '
                        'all of them); oversampling runs either way')
    parser.add_argument('--more-alphas', type=float, nargs='+', default=[],
                        help='alphas the run did not train, trained beside '
                        'its own (with the set variants the demo arguments '
                        'ask for, as the demo trains them for every alpha '
                        '> 0)')
    args = parser.parse_args(ours)
    demo_args = parse_args(theirs)
    speed_up_configs()
    results = {}
    with finished_demo(demo_args, ROOT) as demo:
        if args.alphas:
            unknown = set(args.alphas) - set(demo_args.alphas)
            if unknown:
                parser.error(f'--alphas {sorted(unknown)}: not alphas of '
                             f'the run ({demo_args.alphas})')
            demo.args.alphas = args.alphas
        demo.args.alphas = list(demo.args.alphas) + [
            a for a in args.more_alphas if a not in demo.args.alphas]
        for seed in args.seeds_of_segmentors:
            print(f'segmentors of seed {seed}')
            results[str(seed)] = demo.segmentation(seed)
    with atomic_open(args.out, 'w') as f:
        json.dump(results, f, indent=1)
    print('wrote', args.out)


if __name__ == '__main__':
    main()
