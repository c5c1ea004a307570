"""The compiled synthesis variant of bench/synthesis_speed.py alone, beside
the same engine uncompiled, in one process (the rest of the bench did not
leave it time in the first call)::

    python docs/results/h200_batches/compile_only.py            # on a GPU
    python docs/results/h200_batches/compile_only.py --preset tiny --size 32
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

import torch
from mmengine.registry import init_default_scope

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..',
                            '..', 'bench'))
from synthesis_speed import build_generators, run_engine  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--preset', default='sd15')
    parser.add_argument('--size', type=int, default=512)
    args = parser.parse_args()
    init_default_scope('mmseg')
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    common = dict(size=args.size, device=device, steps=20, guidance=5.0)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        models = build_generators(args.preset, folder)
        print(f'models built in {time.perf_counter() - start:.0f} s',
              flush=True)
        run_engine(models, 4, batching='free', batch=4,
                   out_dir=osp.join(folder, 'warm'), **common)
        plain = run_engine(models, 32, batching='free', batch=16,
                           out_dir=osp.join(folder, 'plain'), **common)
        print(f'engine_batched_b16 {plain:.3f} s/pair', flush=True)
        start = time.perf_counter()
        run_engine(models, 32, batching='free', batch=16,
                   out_dir=osp.join(folder, 'warm_compiled'), compile=True,
                   **common)  # compiles; the networks stay compiled
        print(f'compiling run {time.perf_counter() - start:.0f} s',
              flush=True)
        compiled = run_engine(models, 32, batching='free', batch=16,
                              out_dir=osp.join(folder, 'compiled'), **common)
        print(f'engine_batched_compiled_b16 {compiled:.3f} s/pair '
              f'({plain / compiled:.2f}x uncompiled)', flush=True)


if __name__ == '__main__':
    main()
