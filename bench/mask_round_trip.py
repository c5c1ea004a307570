"""The floor of stage-1 mCPE, side by side: the round trip of a small mask
VAE fitted with the demo's recipe (800 steps on 32 px crops), RGB masks
with nearest-colour and with neighbourhood quantisation, and one-hot masks.

The masks are the toy demo's scenes (160 train, 48 val) drawn in a palette
of your choice: ``legend7``, an ordinary 7-class land-cover legend whose
red/green blend lies nearest to its shrubland brown (the toy classes mapped
to developed, barren, grassland, forest, water, shrubland; wetland absent),
or ``potsdam``, the toy demo's own; or, with ``--dataset``, a real scene
prepared by ``tools/get_benchmark.py`` (its train and val tiles). Each
encoding is fitted with every seed of ``--seeds``; the table gives mean ±
std over them of the round-trip mCPE on the val masks and the largest mean
share shift of one class.

Examples::

    python bench/mask_round_trip.py --palette legend7 --seeds 0 1 2
    python tools/get_benchmark.py spacenet_atlanta --out data/atlanta
    python bench/mask_round_trip.py --dataset spacenet_atlanta \
        --data-root data/atlanta --seeds 0 1 2
"""
import argparse
import json
import os.path as osp
import statistics
import tempfile
import time

import dldm_mmseg  # noqa: F401
from dldm_mmseg.datasets.captioning import write_captions
from dldm_mmseg.datasets.toy_landcover import make_toy_landcover
from dldm_mmseg.experiments.demo_datasets import DEMO_DATASETS
from dldm_mmseg.models.vae_fitting import fit_vae
from dldm_mmseg.utils.io import atomic_open
from dldm_mmseg.utils.mask_encoding import (check_onehot_classes,
                                            onehot_allowed)
from dldm_mmseg.utils.source_dataset import source_dataset_defaults

PALETTES = dict(
    legend7=dict(
        classes=('developed', 'barren', 'grassland', 'forest', 'water',
                 'shrubland', 'wetland'),
        palette=[[255, 0, 0], [180, 180, 180], [200, 230, 100], [0, 120, 0],
                 [0, 0, 255], [150, 110, 60], [100, 200, 255]]),
    potsdam=None)


def source_dataset(name: str):
    if PALETTES[name] is None:
        return 'PotsdamDataset'
    return dict(type='BaseSegDataset', reduce_zero_label=True,
                metainfo=PALETTES[name])


def rows(results: dict) -> list:
    """``(variant, mCPE values, largest |share shift| values)`` per
    variant, over seeds."""
    out = []
    for variant, runs in results.items():
        mcpe = [r['mCPE'] for r in runs]
        shift = [max(abs(v) for k, v in r.items()
                     if k.startswith('share_shift.')) for r in runs]
        out.append((variant, mcpe, shift))
    return out


def mean_std(values) -> str:
    if len(values) == 1:
        return f'{values[0]:.2f}'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--palette', default='legend7',
                        choices=sorted(PALETTES))
    parser.add_argument('--dataset', choices=sorted(
        name for name in DEMO_DATASETS if name != 'toy'),
        help='a real scene instead of the toy scenes (needs --data-root)')
    parser.add_argument('--data-root', help='the --dataset folder '
                        'tools/get_benchmark.py prepared')
    parser.add_argument('--encodings', nargs='+', choices=['rgb', 'onehot'],
                        help='default: both; RGB alone for 2 classes')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--iters', type=int, default=800)
    parser.add_argument('--crop', type=int, default=32)
    parser.add_argument('--train', type=int, default=160,
                        help='toy train scenes (val: 48)')
    parser.add_argument('--out', help='JSON of every run (default: none)')
    args = parser.parse_args(argv)
    if bool(args.dataset) != bool(args.data_root):
        parser.error('--dataset and --data-root go together: the scene and '
                     'the folder tools/get_benchmark.py prepared it in')
    if args.dataset:
        if not osp.isfile(osp.join(args.data_root, 'captions.jsonl')):
            parser.error(f'--data-root {args.data_root} holds no '
                         'captions.jsonl; prepare it with `python '
                         f'tools/get_benchmark.py {args.dataset} --out '
                         f'{args.data_root}`')
        source = DEMO_DATASETS[args.dataset].source_dataset
        name = args.dataset
    else:
        source = source_dataset(args.palette)
        name = args.palette
    classes = source_dataset_defaults(source)['metainfo']['classes']
    onehot = onehot_allowed(len(classes))
    if 'onehot' in (args.encodings or []) and not onehot:
        try:
            check_onehot_classes(len(classes),
                                 f'--encodings onehot with {name}')
        except ValueError as error:
            parser.error(str(error))
    args.encodings = args.encodings or (
        ['rgb', 'onehot'] if onehot else ['rgb'])
    results = {}
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data_root or osp.join(tmp, 'data')
        if not args.dataset:
            make_toy_landcover(data, args.train, 48)
            write_captions(data, classes, True, 'img_dir/train',
                           'ann_dir/train')
        for encoding in args.encodings:
            for seed in args.seeds:
                start = time.time()
                trip = fit_vae(data, osp.join(tmp, f'{encoding}_{seed}'),
                               'small', source, iters=args.iters,
                               batch_size=16, kl_weight=1e-4, seed=seed,
                               log_interval=max(1, args.iters // 4),
                               crop_size=args.crop, content='masks',
                               work_dir=osp.join(tmp, f'fit_{encoding}_'
                                                 f'{seed}'),
                               mask_encoding=encoding)['round_trip']
                seconds.setdefault(encoding, []).append(time.time() - start)
                if encoding == 'rgb':
                    results.setdefault('RGB, nearest colour', []).append(
                        trip['nearest'])
                    results.setdefault('RGB, neighbourhood', []).append(
                        trip['neighbourhood'])
                else:
                    results.setdefault('one-hot, argmax', []).append(
                        trip['argmax'])
                print(f'{encoding} seed {seed}: {trip["text"]}', flush=True)
    print(f'\nround trip of the {name} val masks, mean ± std over '
          f'seeds {args.seeds} ({args.iters} steps, {args.crop} px crops)')
    print('| mask encoding | mCPE | largest class share shift (points) |')
    print('| --- | --- | --- |')
    table = rows(results)
    for variant, mcpe, shift in table:
        print(f'| {variant} | {mean_std(mcpe)} | {mean_std(shift)} |')
    if 'RGB, nearest colour' in results:
        base = statistics.mean(r['mCPE']
                               for r in results['RGB, nearest colour'])
        for variant, mcpe, _ in table:
            if variant != 'RGB, nearest colour':
                print(f'{variant}: {statistics.mean(mcpe) / base:.2f} x '
                      'the mCPE of nearest-colour RGB')
    if args.out:
        with atomic_open(args.out) as f:
            json.dump(dict(settings=vars(args), results=results,
                           seconds=seconds), f, indent=1)


if __name__ == '__main__':
    main()
