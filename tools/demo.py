"""Run the segmentation side of the pipeline on the built-in toy dataset.

Builds the procedural land-cover set (Potsdam classes, strong imbalance),
captions it, trains a small DeepLabV3+ on real data only and with the
random-oversampling baseline, evaluates both, and writes
``work_dirs/demo/report.md`` with per-class IoU, mIoU, mF1, mCPE and a plot.
Everything runs on a CPU with nothing downloaded; ``--quick`` is a smoke
run. (The generator and synthesis stages join this demo as they land.)

Example::

    python tools/demo.py            # a few minutes on 2 CPU cores
    python tools/demo.py --quick    # under a minute
"""
import argparse
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import dldm_mmseg  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from dldm_mmseg.apis.captioning import write_captions  # noqa: E402
from dldm_mmseg.apis.report import (metrics_table,  # noqa: E402
                                    plot_per_class_iou)
from dldm_mmseg.datasets.toy_landcover import make_toy_landcover  # noqa
from dldm_mmseg.utils.io import atomic_open  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RUNS = {
    'real only (alpha=0)': 'configs/demo/deeplabv3plus_toy_syn0.py',
    'oversampling 40%': 'configs/demo/deeplabv3plus_toy_oversample40.py',
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: small data, few iterations')
    parser.add_argument('--iters', type=int, help='training iterations')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def train_and_test(config: str, work_dir: str, data_root: str, iters: int,
                   seed: int, tag: str) -> dict:
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.work_dir = work_dir
    cfg.experiment_name = tag
    cfg.visualizer.name = f'visualizer_{tag}'
    cfg.randomness = dict(seed=seed)
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.param_scheduler[0].end = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = max(1, min(50, iters // 4))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner.test()


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    num_train, num_val = (32, 16) if args.quick else (160, 48)
    iters = args.iters or (30 if args.quick else 1500)
    data_root = osp.join(args.work_dir, 'data', 'toy_landcover')
    print(f'[1/3] built-in dataset: {num_train} train / {num_val} val scenes '
          f'-> {data_root}')
    make_toy_landcover(data_root, num_train, num_val, seed=args.seed)
    from mmseg.datasets import PotsdamDataset
    classes = PotsdamDataset.METAINFO['classes']
    print('[2/3] class shares and captions')
    write_captions(data_root, classes, True, 'img_dir/train', 'ann_dir/train')

    results = {}
    for i, (name, config) in enumerate(RUNS.items()):
        print(f'[3/3] training "{name}" for {iters} iterations')
        tag = osp.splitext(osp.basename(config))[0]
        metrics = train_and_test(
            config, osp.join(args.work_dir, tag), data_root, iters,
            args.seed, f'demo_{tag}_{int(start)}')
        results[name] = {k: float(v) for k, v in metrics.items()}

    plot = plot_per_class_iou(results, classes,
                              osp.join(args.work_dir, 'per_class_iou.png'))
    elapsed = time.time() - start
    report = osp.join(args.work_dir, 'report.md')
    with atomic_open(report) as f:
        f.write(f"""# dldm_mmseg demo report

Built-in toy land-cover set ({num_train} train / {num_val} val scenes of
64x64, Potsdam classes; car and clutter are about 1% of the pixels each),
small DeepLabV3+ (ResNet-18, width 16), {iters} iterations, seed
{args.seed}, {elapsed:.0f} s in all.{' Quick smoke run.' if args.quick else ''}

These numbers come from a toy-scale CPU run of this session, not from
Potsdam; the paper reports, for DeepLabV3+ on Potsdam, mIoU of about 72.1%
real-only, 74.2% with random oversampling and 76.0% with 40% synthetic data.

{metrics_table(results, classes)}

![per-class IoU]({osp.basename(plot)})
""")
    with atomic_open(osp.join(args.work_dir, 'metrics.json')) as f:
        json.dump(results, f, indent=2)
    print(f'\nreport: {report} ({elapsed:.0f} s)')
    return results


if __name__ == '__main__':
    main()
