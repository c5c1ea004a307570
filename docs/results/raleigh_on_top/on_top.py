"""``rule.md``: the set drawn by the one-hot share-vector stage 1 on top
of the real Raleigh tiles (alpha 1.0, batch 16) against real only at
batch 8 and 16, oversampling, and the same set at batch 8, segmentor
seeds 0-3, over a Raleigh demo work dir made by::

    python tools/demo.py --dataset raleigh_landsat --alphas 0 1 \\
        --set-mask-model 'one-hot, numeric, CE only' \\
        --work-dir work_dirs/raleigh_ot

Each seed runs the demo's real-only and oversampling segmentors
(``Demo.segmentation`` at alpha 0), then the one-hot set at batch 8 as
the demo runs it, then the two batch-16 arms, all in the seed's sweep
folder; finished runs are reused. ``--read`` only reads. Writes ``on_top.md``,
``on_top.json`` and ``seeds.png`` here, or in ``--out-dir``::

    python docs/results/raleigh_on_top/on_top.py --work work_dirs/raleigh_ot
"""
import argparse
import glob
import os.path as osp
import sys

import numpy as np
from PIL import Image

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(osp.dirname(HERE)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
sys.path.insert(0, osp.join(HERE, '..', 'real_raleigh'))
from aggregate import (issue_bar, margins, plot_seeds,  # noqa: E402
                       runs_by_seed, side_by_side, summarise, write_verdict)
from demo import parse_args  # noqa: E402  (tools/demo.py)
from verdict import CLASSES, RARE  # noqa: E402  (real_raleigh/verdict.py)

from dldm_mmseg.experiments.alpha_sweep import (  # noqa: E402
    alpha_run_identity, reuse_or_run, run_alpha)
from dldm_mmseg.experiments.analysis import manifest_shares  # noqa: E402
from dldm_mmseg.experiments.demo import finished_demo  # noqa: E402
from dldm_mmseg.utils.compat import speed_up_configs  # noqa: E402
from dldm_mmseg.utils.io import atomic_open  # noqa: E402

SET = 'one-hot, numeric, CE only'
BATCH = 16
SUFFIX = f'_b{BATCH}'
REAL, OVERSAMPLE = 'alpha_0', 'oversample40'
ONEHOT = 'alpha_1_masks_one_hot_numeric_ce_only'
REAL_BIG, ON_TOP = REAL + SUFFIX, ONEHOT + SUFFIX
NAMES = {REAL: 'real only, batch 8',
         OVERSAMPLE: 'oversampling 40%, batch 8',
         ONEHOT: 'alpha 1.0, one-hot set, batch 8',
         REAL_BIG: 'real only, batch 16',
         ON_TOP: 'on top: alpha 1.0, one-hot set, batch 16'}
TICKS = {REAL: 'real only,\nbatch 8', OVERSAMPLE: 'oversampling\n40%',
         ONEHOT: 'one-hot set,\nbatch 8', REAL_BIG: 'real only,\nbatch 16',
         ON_TOP: 'on top,\nbatch 16'}
RULED = [0, 1, 2, 3]
#: a prediction's verdict, as the rule scripts write it
WORD = {True: 'held', False: '**missed**'}
KEYS = ['mIoU'] + [f'IoU.{c}' for c in CLASSES]


def demo_args(work):
    """``tools/demo.py``'s arguments of the rule's work dir."""
    return parse_args(['--dataset', 'raleigh_landsat', '--alphas', '0', '1',
                       '--set-mask-model', SET, '--work-dir', work])


def run_arm(demo, seed, name, alpha, variant, options):
    """One segmentor in ``seed``'s sweep folder of ``demo``'s work dir, as
    the demo runs its own (reused when finished with the same
    identity)."""
    path = osp.join(demo.root, demo.data.configs['sweep'])
    run_dir = osp.join(demo.work, 'sweep' + demo.seed_suffix(seed), name)
    return reuse_or_run(run_dir, run_alpha, path, alpha, run_dir, options,
                        variant, identity=alpha_run_identity(
                            path, alpha, options, variant))


def train(work, seeds):
    """Per seed, the demo's real only and oversampling, the one-hot set
    at batch 8 (the demo's run of it), then real only and the one-hot set
    at batch 16."""
    with finished_demo(demo_args(work), ROOT) as demo:
        variant = demo.set_variants()[f'masks of {SET}']
        sweep = demo.data.configs['sweep']
        demo.args.alphas = [0.0]  # the plain set's alpha 1.0 is not an arm
        for seed in seeds:
            print(f'segmentors of seed {seed}')
            demo.segmentation(seed)
            small = demo.seg_options(sweep, demo.s['seg_iters'], seed)
            big = dict(small, **{'train_dataloader.batch_size': BATCH})
            for name, alpha, arm_variant, options in (
                    (ONEHOT, 1.0, variant, small), (REAL_BIG, 0.0, None, big),
                    (ON_TOP, 1.0, variant, big)):
                run_arm(demo, seed, name, alpha, arm_variant, options)


def read(work, seeds, arms=NAMES):
    """Each of ``arms``' summary over ``seeds``; stops naming the arms and
    seeds not finished."""
    found = runs_by_seed(work)
    missing = {arm: sorted(set(seeds) - set(found.get(arm, {})))
               for arm in arms}
    missing = {arm: left for arm, left in missing.items() if left}
    if missing:
        raise SystemExit(f'seeds not finished in {work}: ' + '; '.join(
            f'{arm}: {left}' for arm, left in missing.items()) +
            ' (run this script without --read to finish them)')
    return {arm: summarise({s: found[arm][s] for s in seeds}, KEYS)
            for arm in arms}


def class_shares(work, sets=None):
    """Each class's share (%) of the labelled pixels of the real train
    masks, and each set's asked and drawn shares (its manifest's means
    over the set's masks); ``sets``: ``{label: run name}``, the set of
    a run ``alpha_1_<suffix>`` read from ``data/raleigh_syn_<suffix>``
    (default: the one-hot set)."""
    counts = np.zeros(len(CLASSES) + 1)
    for path in glob.glob(osp.join(work, 'data', 'raleigh_landsat',
                                   'ann_dir', 'train', '*.png')):
        counts += np.bincount(np.asarray(Image.open(path)).ravel(),
                              minlength=len(CLASSES) + 1)[:len(CLASSES) + 1]
    if not counts[1:].sum():
        raise SystemExit(f'no train masks under {work}/data/raleigh_landsat')
    shares = {'real train masks': 100 * counts[1:] / counts[1:].sum()}
    for label, run in (sets or {'one-hot set': ONEHOT}).items():
        made = manifest_shares(osp.join(
            work, 'data', 'raleigh_syn_' + run[len('alpha_1_'):]), CLASSES)
        shares[f'{label}, asked'] = 100 * made['target'].mean(0)
        shares[f'{label}, drawn'] = 100 * made['measured'].mean(0)
    return shares


def shares_table(shares):
    """Markdown rows of :func:`class_shares`, one per row of it."""
    return (['| | ' + ' | '.join(CLASSES) + ' |',
             '| --- ' * (1 + len(CLASSES)) + '|'] +
            [f'| {name} | ' + ' | '.join(f'{v:.1f}' for v in values) + ' |'
             for name, values in shares.items()])


def shares_json(shares):
    """:func:`class_shares` as JSON: ``{row: {class: share}}``."""
    return {k: dict(zip(CLASSES, map(float, v))) for k, v in shares.items()}


def gate_line(gate, names, passed, against):
    """The gate's line of a rule's text: each baseline's margin and larger
    std (:func:`aggregate.margins`), then passed or failed."""
    return (f'- the gate (val mIoU, {against} by more than the larger '
            'std): ' + ', '.join(
                f'{names[b]} {g["margin"]:+.2f} against '
                f'{g["larger_std"]:.2f}' for b, g in gate.items()) +
            f': **{"passed" if passed else "failed"}**.')


def judge(runs, arm, names):
    """A rule's gate for ``arm`` (val mIoU over real only and oversampling
    by more than the larger std of each pair) and, if it passes, the
    issue's bar on test: ``(gate, passed, bar or None, the text's
    lines)``."""
    gate = margins(runs, arm, [REAL, OVERSAMPLE], 'val', 'mIoU')
    passed = all(g['beyond_std'] for g in gate.values())
    lines = [gate_line(gate, names, passed, 'over each baseline')]
    bar = None
    if passed:
        bar = issue_bar(runs, arm, [REAL, OVERSAMPLE], RARE)
        lines.append("- the issue's bar (test): **" +
                     ('met' if bar['test_bar'] else 'missed') + '**.')
    return gate, passed, bar, lines


def report(runs, seeds, shares):
    """``on_top.md``'s text and the verdict."""
    gate = margins(runs, ON_TOP, [REAL, REAL_BIG, OVERSAMPLE], 'val', 'mIoU')
    passed = all(g['beyond_std'] for g in gate.values())
    real_best = max((REAL, REAL_BIG),
                    key=lambda a: runs[a]['val']['mIoU']['mean'])
    lines = ['# The one-hot set on top of the real Raleigh tiles (rule.md)',
             '', f'Segmentor seeds {seeds}, mean ± std; 3000 iterations, '
             'the same learning rate at both batch sizes.', '']
    lines += side_by_side({NAMES[a]: runs[a] for a in NAMES}, KEYS, 'arm')
    lines += ['', 'Class shares (%; real masks: label 0, unlabelled, left '
              'out):', ''] + shares_table(shares)
    lines += ['', gate_line(gate, NAMES, passed, 'on top over each baseline')]
    bar = None
    if passed:
        bar = issue_bar(runs, ON_TOP, [real_best, OVERSAMPLE], RARE)
        lines.append(
            f"- the issue's bar (test, against {NAMES[real_best]} and "
            'oversampling; mIoU beyond the larger std, agriculture and '
            f'water by 3): **{"met" if bar["test_bar"] else "missed"}**.')

    def val(arm, key='mIoU', split='val'):
        return runs[arm][split][key]['mean']

    held = {1: abs(val(REAL_BIG) - val(REAL)) <= 1.0,
            2: val(ON_TOP) > val(ONEHOT),
            3: (val(ON_TOP, 'IoU.water', 'test')
                > val(ONEHOT, 'IoU.water', 'test')),
            4: not passed}
    lines += [
        '', '## Predictions (rule.md)', '',
        f'- R1. real only at batch 16 within 1.0 of batch 8 on val '
        f'({val(REAL_BIG) - val(REAL):+.2f}): {WORD[held[1]]}.',
        f'- R2. on top above the one-hot set at batch 8 on val '
        f'({val(ON_TOP):.2f} against {val(ONEHOT):.2f}): {WORD[held[2]]}.',
        f'- R3. on top above the one-hot set at batch 8 on test water IoU '
        f'({val(ON_TOP, "IoU.water", "test"):.2f} against '
        f'{val(ONEHOT, "IoU.water", "test"):.2f}): {WORD[held[3]]}.',
        f'- R4. the gate fails: {WORD[held[4]]}.']
    return '\n'.join(lines) + '\n', dict(
        gate=gate, passed=passed, test_bar=bar, predictions=held,
        class_shares=shares_json(shares))


def write_reading(out_dir, stem, rule, seeds, text, verdict):
    """``<stem>.md`` (``text``, headed as beside the rule's reading when
    ``seeds`` hold the rule's and more, as provisional when they lack
    some) and ``<stem>.json`` (the seeds, then ``verdict``) in
    ``out_dir``, written atomically; prints the text. ``rule``: the rule
    file's name."""
    if seeds != RULED:
        text = f'*Seeds {seeds}, ' + (
            f"beside {rule}'s reading of seeds {RULED}; it decides nothing."
            if set(RULED) < set(seeds) else
            f'provisional: {rule} reads seeds {RULED}.') + '*\n\n' + text
    with atomic_open(osp.join(out_dir, stem + '.md')) as f:
        f.write(text)
    write_verdict(osp.join(out_dir, stem + '.json'),
                  dict(seeds=seeds, **verdict))
    print(text)


def rule_args(description, work_help, out_dir=HERE):
    """The rule scripts' arguments (``--work``, ``--seeds``, ``--read``,
    ``--out-dir``, by default ``out_dir``: the calling script's folder),
    seeds sorted; speeds config loading up."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--work', required=True, help=work_help)
    parser.add_argument('--seeds', type=int, nargs='+', default=RULED)
    parser.add_argument('--read', action='store_true',
                        help='only read the finished runs')
    parser.add_argument('--out-dir', default=out_dir)
    args = parser.parse_args()
    args.seeds = sorted(args.seeds)
    if len(args.seeds) < 2:
        parser.error('the gate compares stds: give two seeds or more')
    speed_up_configs()
    return args


def main():
    args = rule_args(__doc__.split('\n\n')[0], "the Raleigh demo's work dir")
    if not args.read:
        train(args.work, args.seeds)
    runs = read(args.work, args.seeds)
    text, verdict = report(runs, args.seeds, class_shares(args.work))
    if args.seeds != RULED:
        text = (f'*Seeds {args.seeds}, ' + (
            'beside rule.md\'s reading of seeds 0-3; it decides nothing.*'
            if set(RULED) < set(args.seeds) else
            f'provisional: rule.md reads seeds {RULED}.*')) + '\n\n' + text
    with atomic_open(osp.join(args.out_dir, 'on_top.md')) as f:
        f.write(text)
    write_verdict(osp.join(args.out_dir, 'on_top.json'),
                  dict(batch=BATCH, seeds=args.seeds, runs=runs, **verdict))
    plot_seeds(runs, TICKS, 'Raleigh: the one-hot set on top of the real '
               'tiles (alpha 1.0, batch 16) and in their place (batch 8)',
               osp.join(args.out_dir, 'seeds.png'))
    print(text)


if __name__ == '__main__':
    main()
