"""``rule.md``: the class-relative filter on building pixels only (the
background the judge takes for building kept as hard negatives) at alpha
0.2 and 1.0, and synthetic data with oversampling in one sampler (alpha
0.2, ``oversample_ratio`` 0.2), on the interleaved Brazil budget, 3000
iterations, seeds 0-2, beside that deal's runs of the same seeds. Runs
are reused when finished; ``--read`` only reads. Writes ``verdict.md`` /
``verdict.json`` here, or in ``--out-dir``::

    python docs/results/brazil_precision/run.py --work work_dirs/bint

An arm whose gate passed is run on seeds 3-4 and read against the
baselines on seeds 0-4 (``bar.md`` / ``bar.json``)::

    python docs/results/brazil_precision/run.py --work work_dirs/bint \\
        --arms ARM --seeds 0 1 2 3 4
"""
import argparse
import os.path as osp
import sys

from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
for folder in ('synthetic_gain', 'brazil_image_vae', 'brazil_budget_use'):
    sys.path.insert(0, osp.join(HERE, '..', folder))
from aggregate import (filter_shares, finished_seeds,  # noqa: E402
                       issue_bar, rare_keys, require_finished,
                       summarise_runs, write_verdict)
from budget_use import cell, filter_variant, mean  # noqa: E402
from more_arms import run  # noqa: E402

ITERS = 3000
NAMES = {'real_3000': 'real only',
         'oversample40_3000': 'oversampling 40%',
         'alpha_0.2_filter_val_3000': 'alpha 0.2, filter',
         'alpha_0.2_bfilter_val_3000': 'alpha 0.2, filter on building only',
         'both_0.2_filter_val_3000':
         'alpha 0.2, filter, and oversampling 0.2',
         'alpha_1_filter_val_3000': 'alpha 1.0, filter',
         'alpha_1_bfilter_val_3000': 'alpha 1.0, filter on building only'}
# arm: (alpha, filter on building only, oversample_ratio)
ARMS = {'alpha_0.2_bfilter_val_3000': (0.2, True, 0.0),
        'alpha_1_bfilter_val_3000': (1.0, True, 0.0),
        'both_0.2_filter_val_3000': (0.2, False, 0.2)}
# each building-only arm and the same alpha filtered on every class
PAIRED = {'alpha_0.2_bfilter_val_3000': 'alpha_0.2_filter_val_3000',
          'alpha_1_bfilter_val_3000': 'alpha_1_filter_val_3000'}
SUFFIX = 'class_filter_val'
KEYS = list(rare_keys('building')) + ['IoU.background']
BASELINES = ['real_3000', 'oversample40_3000']


def variants(work):
    """The filter's variant (every class) and its building-only one."""
    every = filter_variant(work, work)
    building = dict(suffix=SUFFIX + '_building', options=dict(
        consistency=dict(every['options']['consistency'],
                         filter_classes=['building'])))
    return {False: every, True: building}


def arm_options(oversample):
    """The mixed sampler's options that also oversample building."""
    return {'train_dataloader.sampler.oversample_ratio': oversample,
            'train_dataloader.sampler.rare_classes': ['building']} \
        if oversample else None


def gate(runs, seeds, arm):
    """The rule's gate for ``arm`` and the lines saying it; the issue's
    bar (both classes, the issue's two rarest) when five seeds are read."""
    bar = issue_bar(runs, arm, BASELINES, ['building', 'background'])
    margin = bar['val_mIoU']['real_3000']
    passed = margin['beyond_std']
    verdict = dict(gate=margin, gate_passed=passed)
    lines = [f'- {NAMES[arm]}: the gate (val, over real only by more than '
             f'the larger std): {margin["margin"]:+.2f} against '
             f'{margin["larger_std"]:.2f}: '
             f'**{"passed" if passed else "failed"}**.']
    if passed and len(seeds) < 5:
        lines.append(f'  Passed: the rule runs seeds 3-4 next (`--arms '
                     f'{arm} --seeds 0 1 2 3 4`) and reads the bar on '
                     'them.')
    elif passed:
        verdict['bar'] = bar
        lines.append(f'  The issue\'s bar on seeds {seeds}: '
                     f'**{"met" if bar["test_bar"] else "missed"}**.')
    return verdict, lines


def report(runs, seeds, work, arms=ARMS):
    """The markdown of ``verdict.md`` and the verdict: the table, the
    gate of each of ``arms``, and the predictions when every arm is read
    on seeds 0-2."""
    ignored = {label: filter_shares(work, suffix, 'brazil_syn')
               for label, suffix in
               (('every class', SUFFIX), ('building only',
                                          SUFFIX + '_building'))}
    lines = ['# Hard negatives kept, and oversampling beside the set '
             '(rule.md)', '', f'Seeds {seeds}, 3000 iterations, mean ± '
             'std.', '', '| arm | val mIoU | test mIoU | val building IoU | '
             'test building IoU | test building precision / recall |',
             '| --- ' * 6 + '|']
    for name in runs:
        label = NAMES[name]
        lines.append(
            f'| {label} | {cell(runs, name, "val")} | '
            f'{cell(runs, name, "test")} | '
            f'{cell(runs, name, "val", "IoU.building")} | '
            f'{cell(runs, name, "test", "IoU.building")} | '
            f'{mean(runs, name, "test", "Precision.building"):.1f} / '
            f'{mean(runs, name, "test", "Recall.building"):.1f} |')
    lines += ['', 'Share of each class\'s pixels in the set the filter '
              'ignores:', '']
    for label, shares in ignored.items():
        lines.append(f'- filter on {label}: ' + ', '.join(
            f'{name} {100 * share:.1f}%' for name, share in shares.items()))
    lines.append('')
    verdicts = {}
    for arm in arms:
        verdicts[arm], said = gate(runs, seeds, arm)
        lines += said
    if list(runs) != list(NAMES) or seeds != [0, 1, 2]:
        return '\n'.join(lines) + '\n', dict(arms=verdicts,
                                             ignored=ignored)
    precision = {n: mean(runs, n, 'test', 'Precision.building')
                 for n in NAMES}
    every, building = ignored['every class'], ignored['building only']
    held = {1: building['background'] == 0 and abs(
                building['building'] - every['building']) < 1e-9,
            2: all(precision[b] > precision[a] for b, a in PAIRED.items()),
            3: not any(v['gate_passed'] for v in verdicts.values())}
    word = {True: 'held', False: '**missed**'}
    lines += [
        '', 'Predictions (rule.md):', '',
        f'1. the building-only filter ignores no background pixel and the '
        f'same building pixels: {word[held[1]]}.',
        '2. keeping the background raises test building precision (' +
        '; '.join(f'{NAMES[b]} {precision[b]:.1f} against '
                  f'{precision[a]:.1f}' for b, a in PAIRED.items()) +
        f'): {word[held[2]]}.',
        f'3. all three gates fail: {word[held[3]]}.']
    return '\n'.join(lines) + '\n', dict(arms=verdicts, ignored=ignored,
                                         predictions=held)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', required=True,
                        help="the interleaved deal's appearance work dir")
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--read', action='store_true',
                        help='only read the finished runs')
    parser.add_argument('--arms', nargs='+', choices=list(ARMS),
                        default=list(ARMS),
                        help='the arms to train and read (seeds 3-4: those '
                        'whose gate passed); with fewer arms or other '
                        'seeds than seeds 0-2, the runs are read against '
                        'the two baselines and written to bar.md / '
                        'bar.json')
    parser.add_argument('--out-dir', default=HERE)
    args = parser.parse_args()
    full = args.arms == list(ARMS) and sorted(args.seeds) == [0, 1, 2]
    names = list(NAMES) if full else BASELINES + args.arms
    speed_up_configs()
    if not args.read:
        made = variants(args.work)
        for seed in args.seeds:
            for name in args.arms:
                alpha, building, oversample = ARMS[name]
                run(args.work, name, seed, alpha, made[building],
                    options=arm_options(oversample), iters=ITERS)
    out = osp.join(args.work, 'segmentors')
    require_finished(out, names, args.seeds)
    runs = summarise_runs(out, names, sorted(args.seeds), KEYS)
    text, verdict = report(runs, sorted(args.seeds), args.work, args.arms)
    stem = 'verdict' if full else 'bar'
    with atomic_open(osp.join(args.out_dir, stem + '.md')) as f:
        f.write(text)
    write_verdict(osp.join(args.out_dir, stem + '.json'),
                  dict(iters=ITERS, seeds=args.seeds, runs=runs, **verdict))


if __name__ == '__main__':
    main()
