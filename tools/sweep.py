"""Train one segmentation config at several synthetic ratios and plot the
metrics against alpha (the paper's Fig. 14).

Each alpha is a full train + test run in ``<work-dir>/alpha_<a>``; finished
alphas (``metrics.json`` present) are skipped, so a killed sweep resumes.

Example::

    python tools/sweep.py configs/deeplabv3plus_potsdam_syn40.py \
        --alphas 0 0.2 0.4 0.6 1.0 --work-dir work_dirs/sweep_deeplabv3plus
"""
import argparse
import hashlib
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import dldm_mmseg  # noqa: E402,F401
from mmengine.config import DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from dldm_mmseg.apis.report import (metrics_table,  # noqa: E402
                                    plot_metric_vs_alpha)
from dldm_mmseg.utils.config import (check_weights_offline,  # noqa: E402
                                     load_run_config)
from dldm_mmseg.utils.io import atomic_open  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='a config with a MixedRatioSampler')
    parser.add_argument('--alphas', type=float, nargs='+',
                        default=[0.0, 0.2, 0.4, 0.6, 1.0],
                        help='synthetic ratios to train, each in [0, 1] '
                        '(default: 0 0.2 0.4 0.6 1)')
    parser.add_argument('--work-dir', help='default: work_dirs/sweep_<name>')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value, '
                        'for every alpha')
    args = parser.parse_args(argv)
    # every alpha is checked before the first one trains (hours each)
    bad = [a for a in args.alphas if not a >= 0]
    if bad:
        parser.error(f'--alphas must be >= 0 (synthetic draws per real '
                     f'draw), got {", ".join(f"{a:g}" for a in bad)}')
    if len(set(args.alphas)) != len(args.alphas):
        parser.error(f'--alphas has repeats: {args.alphas}')
    return args


def run_alpha(config: str, alpha: float, work_dir: str,
              cfg_options=None) -> dict:
    """Train and test at one alpha; returns the test metrics."""
    cfg = load_run_config(config, cfg_options, work_dir=work_dir)
    sampler = cfg.train_dataloader.sampler
    if 'MixedRatioSampler' not in sampler.get('type', ''):
        raise ValueError(f'{config} does not use a MixedRatioSampler '
                         f'(sampler {sampler.get("type")}); sweep a *_syn*.py '
                         'config')
    if alpha < 0:
        raise ValueError(f'alpha must be >= 0, got {alpha}')
    sampler.syn_ratio = alpha
    # one name per work dir: mmengine keeps one visualizer per name
    where = hashlib.sha1(osp.abspath(work_dir).encode()).hexdigest()[:8]
    return train_and_test(cfg, f'{osp.basename(work_dir)}_{where}')


def reuse_or_run(run_dir: str, run, *args) -> dict:
    """The metrics of a finished run (``run_dir/metrics.json``), or
    ``run(*args)``'s, saved there atomically: a killed sweep resumes."""
    done = osp.join(run_dir, 'metrics.json')
    if osp.isfile(done):
        with open(done, encoding='utf-8') as f:
            print(f'{run_dir}: done before, reused')
            return json.load(f)
    metrics = run(*args)
    with atomic_open(done) as f:
        json.dump(metrics, f, indent=2)
    return metrics


def train_and_test(cfg, name: str) -> dict:
    """Train a loaded config, test it, return the test metrics as floats.

    ``name`` becomes the experiment and visualizer name (mmengine keeps one
    visualizer per name in a process, so each run needs its own).
    """
    cfg.experiment_name = name
    cfg.visualizer.name = f'visualizer_{name}'
    check_weights_offline(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return {k: float(v) for k, v in runner.test().items()}


def main(argv=None):
    args = parse_args(argv)
    name = osp.splitext(osp.basename(args.config))[0]
    work = args.work_dir or osp.join('work_dirs', f'sweep_{name}')
    results = {}
    for alpha in args.alphas:
        run_dir = osp.join(work, f'alpha_{alpha:g}')
        print(f'alpha {alpha:g}: {run_dir}')
        results[alpha] = reuse_or_run(run_dir, run_alpha, args.config, alpha,
                                      run_dir, args.cfg_options)
    from dldm_mmseg.utils.source_dataset import (
        source_dataset_defaults, source_dataset_from_config)
    classes = source_dataset_defaults(source_dataset_from_config(
        args.config))['metainfo']['classes']
    table = metrics_table({f'alpha = {a:g}': r for a, r in
                           sorted(results.items())}, classes)
    plot = plot_metric_vs_alpha(results, classes,
                                osp.join(work, 'metric_vs_alpha.png'))
    with atomic_open(osp.join(work, 'sweep.md')) as f:
        f.write(f'# {name}: metrics vs synthetic ratio\n\n{table}\n\n'
                f'![metric vs alpha]({osp.basename(plot)})\n')
    with atomic_open(osp.join(work, 'sweep.json')) as f:
        json.dump({f'{a:g}': r for a, r in results.items()}, f, indent=2)
    print(table)
    return results


if __name__ == '__main__':
    main()
