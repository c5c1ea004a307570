"""Train one segmentation config at several synthetic ratios and plot the
metrics against alpha (the paper's Fig. 14).

Each alpha is a full train + test run in ``<work-dir>/alpha_<a>``; finished
alphas (``metrics.json`` present) are skipped, so a killed sweep resumes.

Example::

    python tools/sweep.py configs/deeplabv3plus_potsdam_syn40.py \
        --alphas 0 0.2 0.4 0.6 1.0 --work-dir work_dirs/sweep_deeplabv3plus
"""
import argparse
import json
import os.path as osp

from mmengine.config import DictAction

from dldm_mmseg.experiments.alpha_sweep import (VAL_METRICS,
                                                alpha_run_identity,
                                                reuse_or_run, run_alpha,
                                                set_variant,
                                                weak_class_variant)
from dldm_mmseg.experiments.report import metrics_table, plot_metric_vs_alpha
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.config import load_run_config
from dldm_mmseg.utils.io import atomic_open


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
                        'class IoU from this metrics file of a validation, '
                        'or <work-dir>/alpha_0/val_metrics.json, which '
                        'alpha 0 makes first; never the split the runs are '
                        'scored on), to compare with the frequency boost; '
                        'the set goes to <syn_data_root>_weak_classes')
    parser.add_argument('--precision-recall', nargs='+', default=[],
                        metavar='CLASS',
                        help='add these classes\' precision and recall to '
                        'the table (the rare ones: a run that finds more of '
                        'a class at a lower precision wins on a split rich '
                        'in it and loses on one poor in it)')
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


def check_weak_classes(args, work: str, classes) -> None:
    """Everything ``--weak-classes`` needs, checked before the first alpha
    trains: the metrics file (or this sweep's alpha = 0 run, which makes
    it), its per-class IoU and a config whose synthetic set can be
    redirected."""
    from dldm_mmseg.synthesis.share_sampler import class_weakness
    own = osp.abspath(osp.join(work, 'alpha_0', VAL_METRICS))
    if osp.isfile(args.weak_classes):
        class_weakness(args.weak_classes, classes)  # names a missing class
    elif not (0 in args.alphas and osp.abspath(args.weak_classes) == own):
        raise SystemExit(f'--weak-classes {args.weak_classes} does not exist '
                         'and is not the alpha = 0 run of this sweep '
                         f'({own}): give a real-only val metrics file')
    set_variant(load_run_config(args.config, args.cfg_options),
                **weak_class_variant(args.weak_classes, check_file=False))


def main(argv=None):
    args = parse_args(argv)
    speed_up_configs()  # many short runs in one process
    name = osp.splitext(osp.basename(args.config))[0]
    work = args.work_dir or osp.join('work_dirs', f'sweep_{name}')
    from dldm_mmseg.utils.source_dataset import (
        source_dataset_defaults, source_dataset_from_config)
    classes = source_dataset_defaults(source_dataset_from_config(
        args.config))['metainfo']['classes']
    unknown = [c for c in args.precision_recall if c not in classes]
    if unknown:
        raise SystemExit(f'--precision-recall {" ".join(unknown)}: not a '
                         f'class of {args.config} ({", ".join(classes)})')
    if args.weak_classes:
        check_weak_classes(args, work, classes)
    results = {}
    for alpha in args.alphas:
        run_dir = osp.join(work, f'alpha_{alpha:g}')
        print(f'alpha {alpha:g}: {run_dir}')
        results[alpha] = reuse_or_run(
            run_dir, run_alpha, args.config, alpha, run_dir,
            args.cfg_options, identity=alpha_run_identity(
                args.config, alpha, args.cfg_options))
    rows = {f'alpha = {a:g}': r for a, r in sorted(results.items())}
    if args.weak_classes:
        weak = weak_class_variant(args.weak_classes)
        for alpha in sorted(a for a in args.alphas if a > 0):
            run_dir = osp.join(work, f'alpha_{alpha:g}_weak_classes')
            print(f'alpha {alpha:g}, weak-class shares: {run_dir}')
            rows[f'alpha = {alpha:g}, weak classes'] = reuse_or_run(
                run_dir, run_alpha, args.config, alpha, run_dir,
                args.cfg_options, weak,
                identity=alpha_run_identity(args.config, alpha,
                                            args.cfg_options, weak))
    table = metrics_table(rows, classes,
                          precision_recall=args.precision_recall)
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
