"""Collect the synthetic-data comparison of a finished demo work dir.

Reads every segmentor run of the work dir's sweeps (``sweep`` for seed 0,
``sweep_seed<N>`` for the seeds ``segmentor_seeds.py`` added), the
mask-image consistency of ``metrics.json`` and, when the work dir holds a
set made with ``--class-filter``, the share of each class's synthetic
pixels the filter ignored. Writes ``<name>.json`` (mean, std and every
seed, val and test) and ``<name>_alpha.png`` (test mIoU and rare-class
IoU against alpha, mean ± std over the seeds) into ``--out-dir`` (default:
beside this script), with the pick of ``rule.md`` (``pick``) in the
JSON, and prints the table of the README and that pick::

    python docs/results/synthetic_gain/aggregate.py \
        work_dirs/atl_s2 --name atlanta --rare building
"""
import argparse
import glob
import json
import os.path as osp
import re

import numpy as np

from dldm_mmseg.experiments.report import mean_and_std
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))


def load(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def runs_by_seed(work):
    """``{run folder name: {seed: {'test': metrics, 'val': metrics}}}``
    for every finished run (one with test and val metrics)."""
    runs = {}
    for sweep in sorted(glob.glob(osp.join(work, 'sweep*'))):
        match = re.fullmatch(r'sweep(?:_seed(\d+))?', osp.basename(sweep))
        if not match:
            continue
        seed = int(match.group(1) or 0)
        for run in sorted(glob.glob(osp.join(sweep, '*', 'metrics.json'))):
            folder = osp.dirname(run)
            val = osp.join(folder, 'val_metrics.json')
            if osp.exists(val):
                runs.setdefault(osp.basename(folder), {})[seed] = dict(
                    test=load(run), val=load(val))
    return runs


def summarise(per_seed, keys):
    """Mean, std (ddof 1; 0 for one seed) and the per-seed values of
    ``keys`` on both splits."""
    seeds = sorted(per_seed)
    mean, std = mean_and_std([
        {split: {k: per_seed[s][split][k] for k in keys}
         for split in ('val', 'test')} for s in seeds])
    return dict(seeds=seeds, **{
        split: {key: dict(mean=mean[split][key], std=std[split][key],
                          per_seed=[per_seed[s][split][key] for s in seeds])
                for key in keys}
        for split in ('val', 'test')})


def finished_seeds(out, runs):
    """The seeds ``N`` whose ``<out>/seed<N>`` holds every run of
    ``runs`` finished (test and val metrics)."""
    seeds = []
    for folder in glob.glob(osp.join(out, 'seed*')):
        match = re.fullmatch(r'seed(\d+)', osp.basename(folder))
        if match and all(osp.isfile(osp.join(folder, run, name))
                         for run in runs for name in ('metrics.json',
                                                      'val_metrics.json')):
            seeds.append(int(match.group(1)))
    return sorted(seeds)


def require_finished(out, runs, seeds):
    """Stop, naming the seeds missing, unless every run of ``runs`` has
    finished under ``<out>/seed<N>`` for each of ``seeds``
    (:func:`finished_seeds`)."""
    missing = sorted(set(seeds) - set(finished_seeds(out, runs)))
    if missing:
        raise SystemExit(f'seeds {missing} have not finished every arm '
                         f'under {out}: train them (leave out --read)')


def summarise_runs(out, runs, seeds, keys):
    """:func:`summarise` of each run of a harness that writes
    ``<out>/seed<N>/<run>/{metrics,val_metrics}.json``."""
    return {run: summarise({seed: dict(
        test=load(osp.join(out, f'seed{seed}', run, 'metrics.json')),
        val=load(osp.join(out, f'seed{seed}', run, 'val_metrics.json')))
        for seed in seeds}, keys) for run in runs}


def harness_parser(description):
    """The arguments every harness that writes ``<out>/seed<N>/<run>``
    shares (``--out``, ``--name``, ``--rare``, ``--seeds``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--out', required=True, help='work dir of the runs')
    parser.add_argument('--name', required=True,
                        help='<name>.json (in --out-dir)')
    parser.add_argument('--rare', required=True, help='the rare class')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--out-dir', help='where <name>.json goes (default: '
                        'beside the harness)')
    return parser


def write_summary(out, runs, keys, path, **extra):
    """:func:`summarise_runs` of every finished seed of ``<out>`` (not
    only those one call trained: a call for one more seed does not shrink
    the summary), with ``extra``, written to ``path`` atomically; prints
    a line per run (mean ± std of each key, val then test)."""
    summary = summarise_runs(out, runs, finished_seeds(out, runs), keys)
    with atomic_open(path) as f:
        json.dump(dict(extra, **summary), f, indent=1)
    for run, numbers in summary.items():
        print(run, ' '.join(
            f'{split} {key} {v["mean"]:.2f} ± {v["std"]:.2f}'
            for split in ('val', 'test')
            for key, v in numbers[split].items()))


def filter_shares(work, suffix='class_filter', plain_set='*'):
    """Per class, the share of the synthetic pixels the class-relative
    filter ignored: the filtered set's (``<plain_set>_<suffix>``)
    ``disagreeing_pixels`` against the class pixels of the plain set,
    whose masks come from the same seeds. ``None`` when the work dir has
    no such filtered set."""
    filtered = glob.glob(osp.join(glob.escape(work), 'data',
                                  f'{plain_set}_{suffix}'))
    if not filtered:
        return None
    plain = filtered[0][:-len(suffix) - 1]
    size = load(osp.join(plain, 'synth_info.json'))['identity']['size']
    with open(osp.join(plain, 'manifest.jsonl'), encoding='utf-8') as f:
        shares = {r['id']: r['measured_shares'] for r in map(json.loads, f)}
    ignored, total = {}, {}
    with open(osp.join(filtered[0], 'manifest.jsonl'),
              encoding='utf-8') as f:
        for record in map(json.loads, f):
            for name, share in shares[record['id']].items():
                total[name] = total.get(name, 0) + share * size * size
                ignored[name] = ignored.get(name, 0) + record[
                    'disagreeing_pixels'].get(name, 0)
    return {name: ignored[name] / total[name]
            for name in total if total[name] > 0}


def alpha_and_variant(run):
    """``alpha_0.4_class_filter`` -> ``('0.4', 'class filter')``,
    ``alpha_0.4`` -> ``('0.4', '')``; ``None`` for a run of no alpha."""
    match = re.fullmatch(r'alpha_([0-9.]+)(?:_(.+))?', run)
    return match and (match.group(1), (match.group(2) or '').replace('_',
                                                                     ' '))


def label(run):
    """``alpha_0.4_class_filter`` -> ``alpha 0.4, class filter``."""
    if run == 'oversample40':
        return 'oversampling 40%'
    parsed = alpha_and_variant(run)
    if not parsed:
        return run
    alpha, variant = parsed
    return f'alpha {alpha}' + (f', {variant}' if variant else '')


def plot(summary, rare, path):
    """Test mIoU and ``rare`` IoU against alpha, one line per set variant
    (each starting from real only at alpha 0), mean ± std over seeds."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    runs = summary['runs']
    lines = {}
    for run, s in runs.items():
        parsed = alpha_and_variant(run)
        if parsed and float(parsed[0]) > 0:
            lines.setdefault(parsed[1], []).append((float(parsed[0]), s))
    over = runs.get('oversample40')
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key in zip(axes, ('mIoU', f'IoU.{rare}')):
        for variant, points in sorted(lines.items()):
            points = sorted(points, key=lambda p: p[0])
            if 'alpha_0' in runs:
                points.insert(0, (0.0, runs['alpha_0']))
            alphas = [a for a, _ in points]
            mean = np.array([s['test'][key]['mean'] for _, s in points])
            std = np.array([s['test'][key]['std'] for _, s in points])
            name = variant or 'plain set'
            line, = ax.plot(alphas, mean, 'o-', label=name)
            ax.fill_between(alphas, mean - std, mean + std, alpha=0.15,
                            color=line.get_color())
        if over:
            o = over['test'][key]
            ax.axhline(o['mean'], color='grey', ls='--',
                       label='oversampling 40%')
        ax.set_xlabel('alpha (synthetic draws per real draw)')
        ax.set_ylabel(f'test {key}')
        ax.grid(alpha=0.3)
    seeds = sorted({len(s['seeds']) for s in runs.values()})
    axes[0].legend(fontsize=8)
    fig.suptitle('test split, mean ± std over segmentor seeds '
                 f'({"/".join(map(str, seeds))} seeds a point); alpha 0 '
                 'is real only', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pick(runs, seeds=3):
    """The rule of ``rule.md``: among the runs with segmentor seeds 0 to
    ``seeds - 1`` (and no other), the one of highest mean val mIoU, and
    whether it is a synthetic run that beats real only's val mean by more
    than real only's val std. None without such a real-only run."""
    full = {r: s for r, s in runs.items()
            if s['seeds'] == list(range(seeds))}
    if 'alpha_0' not in full:
        return None
    best = max(full, key=lambda r: full[r]['val']['mIoU']['mean'])
    real = full['alpha_0']['val']['mIoU']
    score = full[best]['val']['mIoU']['mean']
    return dict(run=best, val_mIoU=score, real_only_val_mIoU=real['mean'],
                real_only_val_std=real['std'],
                beats_real_only=best not in ('alpha_0', 'oversample40')
                and score - real['mean'] > real['std'])


def margins(runs, candidate, baselines, split, key):
    """Per baseline, ``candidate``'s mean margin over it on ``split``'s
    ``key``, the larger of the two stds, and whether the margin exceeds
    that std (the comparisons of the issue's bar)."""
    ours = runs[candidate][split][key]
    out = {}
    for baseline in baselines:
        theirs = runs[baseline][split][key]
        margin = ours['mean'] - theirs['mean']
        spread = max(ours['std'], theirs['std'])
        out[baseline] = dict(margin=margin, larger_std=spread,
                             beyond_std=margin > spread)
    return out


def rare_keys(rare):
    """mIoU and the rare class's IoU, precision and recall: the keys a
    rule's summary and verdict report."""
    return ('mIoU', f'IoU.{rare}', f'Precision.{rare}', f'Recall.{rare}')


def write_verdict(path, verdict):
    """``verdict`` written to ``path`` (JSON, atomically), then printed
    after a blank line."""
    with atomic_open(path) as f:
        json.dump(verdict, f, indent=1)
    print()
    print(json.dumps(verdict, indent=1))


def side_by_side(columns, keys, corner=''):
    """Markdown rows: a column per ``{label: run summary}`` item, a row per
    split and key, each cell mean ± std."""
    lines = [f'| {corner} | ' + ' | '.join(columns) + ' |',
             '| --- ' * (1 + len(columns)) + '|']
    for split in ('val', 'test'):
        for key in keys:
            lines.append(f'| {split} {key} | ' + ' | '.join(
                '{mean:.2f} ± {std:.2f}'.format(**run[split][key])
                for run in columns.values()) + ' |')
    return lines


def plot_seeds(runs, labels, title, path):
    """Each seed's val and test mIoU of every run named in ``labels``
    (``{run: tick label}``, in that order; dots, a seed's colour the same
    in every run) and their means (bars)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = [r for r in labels if r in runs]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), sharey=True)
    for ax, split in zip(axes, ('val', 'test')):
        for x, run in enumerate(names):
            values = runs[run][split]['mIoU']
            ax.bar(x, values['mean'], 0.6, color='0.85')
            ax.scatter([x + 0.05 * (i - 2.5) for i in
                        range(len(values['per_seed']))],
                       values['per_seed'], s=14, zorder=3,
                       c=[f'C{s}' for s in runs[run]['seeds']])
        every = [v for r in names for s in ('val', 'test')
                 for v in runs[r][s]['mIoU']['per_seed']]
        ax.set_ylim(5 * (min(every) // 5) - 5, 5 * (max(every) // 5) + 5)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([labels[r] for r in names], fontsize=7)
        seeds = runs[names[0]]['seeds']
        ax.set_title(f'{split} mIoU, seeds {seeds[0]}-{seeds[-1]} (dots: a '
                     'colour per seed)')
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def issue_bar(runs, candidate, baselines, rare, min_rare_gain=3.0):
    """The pick of a pre-registered rule and the issue's bar: the
    candidate must beat every baseline on val mIoU by more than the larger
    std (else test is not judged); then on test mIoU by more than the
    larger std, and on the rare class's IoU (each of them, for a list of
    classes: ``test_rare_IoU`` is then per class) by ``min_rare_gain``
    points. "The larger std" is that of the pair compared (candidate and
    one baseline), as the earlier reports read it."""
    val = margins(runs, candidate, baselines, 'val', 'mIoU')
    verdict = dict(val_mIoU=val,
                   val_picks=all(m['beyond_std'] for m in val.values()))
    test = margins(runs, candidate, baselines, 'test', 'mIoU')
    classes = [rare] if isinstance(rare, str) else list(rare)
    rare_test = {c: margins(runs, candidate, baselines, 'test', f'IoU.{c}')
                 for c in classes}
    verdict.update(test_mIoU=test, test_rare_IoU=rare_test[rare] if
                   isinstance(rare, str) else rare_test)
    verdict['test_bar'] = verdict['val_picks'] and all(
        test[b]['beyond_std'] and all(
            rare_test[c][b]['margin'] >= min_rare_gain for c in classes)
        for b in baselines)
    return verdict


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument('--name', required=True)
    parser.add_argument('--rare', nargs='+', required=True,
                        help='the rare classes (IoU columns)')
    parser.add_argument('--out-dir', default=HERE,
                        help='where <name>.json and <name>_alpha.png go '
                        '(default: beside this script)')
    parser.add_argument('--no-pick', action='store_true',
                        help='leave out the pick of rule.md (for a work dir '
                        'judged by a rule of its own)')
    parser.add_argument('--precision-recall', action='store_true',
                        help='also the rare classes\' precision and recall')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='only these segmentor seeds (default: every '
                        'seed the work dir holds)')
    args = parser.parse_args()
    keys = ['mIoU'] + [f'{metric}.{c}' for c in args.rare for metric in (
        ('IoU', 'Precision', 'Recall') if args.precision_recall
        else ('IoU',))]
    runs = runs_by_seed(args.work_dir)
    if args.seeds:
        runs = {run: {s: m for s, m in per_seed.items() if s in args.seeds}
                for run, per_seed in runs.items()}
        runs = {run: per_seed for run, per_seed in runs.items() if per_seed}
    metrics = load(osp.join(args.work_dir, 'metrics.json'))
    summary = dict(
        work_dir=args.work_dir,
        runs={run: summarise(s, keys) for run, s in runs.items()},
        consistency=metrics['consistency'],
        set_mcpe=metrics['set_mcpe']['mCPE'],
        fid=metrics['fid'],
        filter_ignored_share=filter_shares(args.work_dir))
    summary['pick'] = None if args.no_pick else pick(summary['runs'])
    with open(osp.join(args.out_dir, f'{args.name}.json'), 'w',
              encoding='utf-8') as f:
        json.dump(summary, f, indent=1)
    plot(summary, args.rare[0],
         osp.join(args.out_dir, f'{args.name}_alpha.png'))
    fmt = '{mean:.2f} ± {std:.2f}'.format
    print('| run | seeds | ' + ' | '.join(
        f'{split} {k}' for split in ('val', 'test') for k in keys) + ' |')
    print('| --- ' * (2 + 2 * len(keys)) + '|')
    order = sorted(summary['runs'], key=lambda r: (
        r != 'alpha_0', r != 'oversample40', '_' in r[6:], r))
    for run in order:
        s = summary['runs'][run]
        print(f'| {label(run)} | {len(s["seeds"])} | ' + ' | '.join(
            fmt(**{k: s[split][key][k] for k in ('mean', 'std')})
            for split in ('val', 'test') for key in keys) + ' |')
    chosen = summary['pick']
    if chosen:
        print(f"\nval's pick: {label(chosen['run'])} "
              f"({chosen['val_mIoU']:.2f} against real only's "
              f"{chosen['real_only_val_mIoU']:.2f} ± "
              f"{chosen['real_only_val_std']:.2f}): "
              + ('it beats real only by more than real only\'s val std'
                 if chosen['beats_real_only'] else 'the defaults stay'))


if __name__ == '__main__':
    main()
