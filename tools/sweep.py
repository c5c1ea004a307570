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
    parser.add_argument('--weak-classes', metavar='METRICS_JSON',
                        help='also train every alpha > 0 on a second '
                        'synthetic set whose target shares favour the '
                        'classes a real-only segmentor does worst on (per-'
                        'class IoU from this test metrics file, or '
                        '<work-dir>/alpha_0/metrics.json, which alpha 0 '
                        'makes first), to compare with the frequency boost; '
                        'the set goes to <syn_data_root>_weak_classes')
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
              cfg_options=None, weak_classes: str = None) -> dict:
    """Train and test at one alpha (on the weak-class variant of the
    synthetic set with ``weak_classes``); returns the test metrics."""
    cfg = load_run_config(config, cfg_options, work_dir=work_dir)
    if weak_classes:
        weak_class_variant(cfg, weak_classes)
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


def check_weak_classes(args, work: str, classes) -> None:
    """Everything ``--weak-classes`` needs, checked before the first alpha
    trains: the metrics file (or this sweep's alpha = 0 run, which makes
    it), its per-class IoU and a config whose synthetic set can be
    redirected."""
    from dldm_mmseg.apis.share_sampler import class_weakness
    own = osp.abspath(osp.join(work, 'alpha_0', 'metrics.json'))
    if osp.isfile(args.weak_classes):
        class_weakness(args.weak_classes, classes)  # names a missing class
    elif not (0 in args.alphas and osp.abspath(args.weak_classes) == own):
        raise SystemExit(f'--weak-classes {args.weak_classes} does not exist '
                         'and is not the alpha = 0 run of this sweep '
                         f'({own}): give a real-only test metrics file')
    weak_class_variant(load_run_config(args.config, args.cfg_options),
                       args.weak_classes, check_file=False)


def weak_class_variant(cfg, metrics_file: str, check_file: bool = True):
    """``cfg`` (loaded) with its synthetic set replaced by one whose target
    shares are boosted by class weakness (``shares.weak_classes``): the
    ``SynthesisHook`` builds it in ``<out_dir>_weak_classes`` and the
    ``DiffusionSynthDataset`` reading ``out_dir`` reads that instead."""
    hooks = [h for h in cfg.get('custom_hooks', [])
             if h.get('type') == 'SynthesisHook']
    if not hooks:
        raise ValueError('--weak-classes needs a config with a SynthesisHook '
                         '(it builds the second synthetic set)')
    if check_file and not osp.isfile(metrics_file):
        raise FileNotFoundError(f'--weak-classes {metrics_file} does not '
                                'exist: a test metrics file of a real-only '
                                'run (e.g. <work-dir>/alpha_0/metrics.json)')
    moved = {}
    for hook in hooks:
        old = hook['out_dir']
        moved[osp.normpath(old)] = hook['out_dir'] = old.rstrip('/') + \
            '_weak_classes'
        options = dict(hook.get('synth_options') or {})
        options['shares'] = dict(options.get('shares') or {},
                                 weak_classes=osp.abspath(metrics_file))
        hook['synth_options'] = options
    train = cfg.train_dataloader.dataset
    redirected = 0
    for dataset in train.get('datasets', [train]):
        root = dataset.get('data_root')
        if dataset.get('type') == 'DiffusionSynthDataset' and root and \
                osp.normpath(root) in moved:
            dataset['data_root'] = moved[osp.normpath(root)]
            redirected += 1
    if not redirected:  # the hook would build a set nobody reads
        raise ValueError(
            f'--weak-classes: no DiffusionSynthDataset in train_dataloader '
            f'reads the SynthesisHook\'s out_dir ({sorted(moved)}); give '
            'the synthetic dataset the same data_root as the hook')
    return cfg


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
    from dldm_mmseg.utils.source_dataset import (
        source_dataset_defaults, source_dataset_from_config)
    classes = source_dataset_defaults(source_dataset_from_config(
        args.config))['metainfo']['classes']
    if args.weak_classes:
        check_weak_classes(args, work, classes)
    results = {}
    for alpha in args.alphas:
        run_dir = osp.join(work, f'alpha_{alpha:g}')
        print(f'alpha {alpha:g}: {run_dir}')
        results[alpha] = reuse_or_run(run_dir, run_alpha, args.config, alpha,
                                      run_dir, args.cfg_options)
    rows = {f'alpha = {a:g}': r for a, r in sorted(results.items())}
    if args.weak_classes:
        for alpha in sorted(a for a in args.alphas if a > 0):
            run_dir = osp.join(work, f'alpha_{alpha:g}_weak_classes')
            print(f'alpha {alpha:g}, weak-class shares: {run_dir}')
            rows[f'alpha = {alpha:g}, weak classes'] = reuse_or_run(
                run_dir, run_alpha, args.config, alpha, run_dir,
                args.cfg_options, args.weak_classes)
    table = metrics_table(rows, classes)
    plot = plot_metric_vs_alpha(results, classes,
                                osp.join(work, 'metric_vs_alpha.png'))
    with atomic_open(osp.join(work, 'sweep.md')) as f:
        f.write(f'# {name}: metrics vs synthetic ratio\n\n{table}\n\n'
                f'![metric vs alpha]({osp.basename(plot)})\n')
    with atomic_open(osp.join(work, 'sweep.json')) as f:
        json.dump(rows, f, indent=2)
    print(table)
    return results


if __name__ == '__main__':
    main()
