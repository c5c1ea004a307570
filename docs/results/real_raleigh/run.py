"""Real-only baselines of a prepared scene: each config as it is (real
only, oversampling 40%), 1500 iterations, at each seed. Every run goes to
``<out>/seed<N>/<run>`` and is skipped when finished with the same
settings, so a killed run resumes. Writes ``<name>.json`` (mean, std and
every seed of mIoU and each class's IoU, val and test) beside this
script (``run.sh``)::

    DLDM_DEMO_DIR=$(realpath work_dirs/raleigh) \\
    python docs/results/real_raleigh/run.py \\
        real=configs/demo/raleigh/deeplabv3plus_raleigh_syn0.py \\
        --out work_dirs/raleigh/baselines --name raleigh_1500 --seeds 0 1 2
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config

from dldm_mmseg.experiments.alpha_sweep import (config_run_identity,
                                                reuse_or_run, run_config,
                                                schedule_options)
from dldm_mmseg.utils.compat import speed_up_configs

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import write_summary  # noqa: E402

ITERS = 1500


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('runs', nargs='+', metavar='NAME=CONFIG')
    parser.add_argument('--out', required=True, help='work dir of the runs')
    parser.add_argument('--name', required=True, help='<name>.json here')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    args = parser.parse_args(argv)
    runs = dict(item.split('=', 1) for item in args.runs)
    speed_up_configs()
    for seed in args.seeds:
        options = schedule_options(ITERS, seed)
        for name, config in runs.items():
            run_dir = osp.join(args.out, f'seed{seed}', name)
            reuse_or_run(run_dir, run_config, config, run_dir, options,
                         identity=config_run_identity(config, options))
    classes = Config.fromfile(next(iter(runs.values()))
                              ).source_dataset.metainfo.classes
    write_summary(args.out, list(runs), ['mIoU', 'aAcc'] + [
        f'IoU.{c}' for c in classes], osp.join(HERE, f'{args.name}.json'),
        iters=ITERS, configs=runs)


if __name__ == '__main__':
    main()
