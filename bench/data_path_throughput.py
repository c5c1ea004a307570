"""Samples per second: mixed real + synthetic data path vs the stock one.

Both dataloaders are built by mmengine's ``Runner.build_dataloader`` from
the stock Potsdam dataset config (same pipeline: RandomResize, RandomCrop,
RandomFlip, PhotoMetricDistortion at 512x512):

* stock: ``PotsdamDataset`` + ``InfiniteSampler`` (mmseg's Potsdam config);
* mixed: ``ConcatDataset(PotsdamDataset, DiffusionSynthDataset)`` +
  ``InfiniteMixedRatioSampler(syn_ratio=0.4)`` (our syn40 configs).

Data is the built-in toy land-cover set rendered at 512x512 (real and
synthetic parts from different seeds). The two paths run in alternating
rounds in one process so machine noise hits both; the ratio of the medians
is printed. Target: mixed >= 0.95 x stock.

Example::

    python bench/data_path_throughput.py --batches 30 --rounds 7
"""
import argparse
import copy
import json
import os.path as osp
import statistics
import tempfile
import time

import dldm_mmseg  # noqa: F401
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from dldm_mmseg.datasets.toy_landcover import make_toy_landcover  # noqa


def build_sets(root: str, num_real: int, num_syn: int, size: int):
    real = osp.join(root, 'real')
    make_toy_landcover(real, num_real, 0, size=size, seed=1)
    syn = osp.join(root, 'syn')
    make_toy_landcover(osp.join(root, 'syn_tmp'), num_syn, 0, size=size,
                       seed=2)
    # lay the second set out as a synthetic set with its manifest
    import os
    import shutil
    for sub in ('img_dir', 'ann_dir'):
        os.makedirs(osp.join(syn, sub), exist_ok=True)
        shutil.move(osp.join(root, 'syn_tmp', sub, 'train'),
                    osp.join(syn, sub, 'train'))
    names = sorted(os.listdir(osp.join(syn, 'ann_dir', 'train')))
    with open(osp.join(syn, 'manifest.jsonl'), 'w') as f:
        for name in names:
            f.write(json.dumps(dict(id=name[:-4])) + '\n')
    return real, syn


def loaders(real: str, syn: str, batch_size: int, workers: int):
    import mmseg
    base = Config.fromfile(osp.join(osp.dirname(mmseg.__file__), '.mim',
                                    'configs/_base_/datasets/potsdam.py'))
    stock = copy.deepcopy(base.train_dataloader)
    stock.dataset.data_root = real
    stock.update(batch_size=batch_size, num_workers=workers,
                 persistent_workers=workers > 0)
    mixed = copy.deepcopy(stock)
    mixed.sampler = dict(type='InfiniteMixedRatioSampler', syn_ratio=0.4)
    mixed.dataset = dict(type='ConcatDataset', datasets=[
        stock.dataset,
        dict(type='DiffusionSynthDataset', source_dataset='PotsdamDataset',
             data_root=syn, pipeline=base.train_pipeline)])
    return {name: Runner.build_dataloader(cfg, seed=0)
            for name, cfg in (('stock', stock), ('mixed', mixed))}


def measure(loader_iter, batches: int, batch_size: int) -> float:
    start = time.perf_counter()
    for _ in range(batches):
        next(loader_iter)
    return batches * batch_size / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--num-real', type=int, default=48)
    parser.add_argument('--num-syn', type=int, default=32)
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--batches', type=int, default=30)
    parser.add_argument('--rounds', type=int, default=7)
    args = parser.parse_args(argv)
    init_default_scope('mmseg')
    with tempfile.TemporaryDirectory() as root:
        real, syn = build_sets(root, args.num_real, args.num_syn, args.size)
        built = loaders(real, syn, args.batch_size, args.workers)
        iters = {name: iter(loader) for name, loader in built.items()}
        for it in iters.values():  # warm-up: worker start, first reads
            measure(it, 3, args.batch_size)
        rates = {name: [] for name in iters}
        for _ in range(args.rounds):
            for name, it in iters.items():
                rates[name].append(measure(it, args.batches, args.batch_size))
    stock = statistics.median(rates['stock'])
    mixed = statistics.median(rates['mixed'])
    print(f'{args.rounds} rounds x {args.batches} batches of '
          f'{args.batch_size} at {args.size}x{args.size}, '
          f'{args.workers} workers')
    for name in ('stock', 'mixed'):
        print(f'  {name:5s}: ' + ', '.join(f'{r:.1f}' for r in rates[name])
              + f' samples/s (median {statistics.median(rates[name]):.1f})')
    ratio = mixed / stock
    print(f'mixed / stock = {ratio:.3f} (target >= 0.95: '
          f'{"met" if ratio >= 0.95 else "NOT met"})')
    return ratio


if __name__ == '__main__':
    main()
