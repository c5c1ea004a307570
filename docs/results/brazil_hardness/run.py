"""``rule.md``: hardness-aware draws on the interleaved Brazil budget.

Cross-fitted patch hardness: the 90 budget train patches are cut into two
halves (seeded); a real-only segmentor (seed 0, 1500 iterations) is
trained on each half in ``<work>/folds/<a|b>`` and scores the other half
with ``tools/patch_hardness.py`` into ``<work>/hardness.json``. The
appearance set is then drawn again with each real patch weighed by its
hardness instead of the frequency boost (``shares.rarity_exponent=0``,
``shares.patch_hardness``), filtered as before, and trained at alpha 1.0
for 3000 iterations, seeds 0-2, beside the interleaved deal's runs of the
same seeds. Runs are reused when finished; ``--read`` only reads. Writes
``hardness.md`` / ``hardness.json`` here, or in ``--out-dir``::

    python docs/results/brazil_hardness/run.py --work work_dirs/bint
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np

from dldm_mmseg.experiments.alpha_sweep import (config_run_identity,
                                                reuse_or_run, run_config,
                                                schedule_options)
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.io import atomic_open, read_jsonl

HERE = osp.dirname(osp.abspath(__file__))
for folder in ('synthetic_gain', 'brazil_image_vae', 'brazil_budget_use'):
    sys.path.insert(0, osp.join(HERE, '..', folder))
from aggregate import issue_bar, rare_keys, summarise_runs  # noqa: E402
from aggregate import write_verdict  # noqa: E402
from budget_use import cell, filter_variant, mean  # noqa: E402
from more_arms import run  # noqa: E402

REAL_ONLY = 'configs/demo/brazil/deeplabv3plus_brazil_syn0.py'
FOLD_ITERS = 1500
ITERS = 3000
DATA = 'brazil_buildings'
NAMES = {'real_3000': 'real only',
         'oversample40_3000': 'oversampling 40%',
         'alpha_1_filter_val_3000': 'alpha 1.0, filter (frequency boost)',
         'alpha_1_hard_filter_val_3000': 'alpha 1.0, filter, hardness draws'}
KEYS = list(rare_keys('building')) + ['IoU.background']


def halves(ids, seed=0):
    """The two halves of the patch ids (a seeded shuffle)."""
    order = np.random.default_rng(seed).permutation(sorted(ids))
    return sorted(order[:len(order) // 2]), sorted(order[len(order) // 2:])


def link_fold(src, dst, train_ids):
    """``dst``: ``src``'s data with only ``train_ids`` in its train split
    (hard links), val and test linked whole."""
    for sub, ext in (('img_dir', '.png'), ('ann_dir', '.png')):
        os.makedirs(osp.join(dst, sub, 'train'), exist_ok=True)
        for name in train_ids:
            target = osp.join(dst, sub, 'train', name + ext)
            if not osp.exists(target):
                os.link(osp.join(src, sub, 'train', name + ext), target)
        for split in ('val', 'test'):
            target = osp.join(dst, sub, split)
            if not osp.exists(target):
                os.symlink(osp.abspath(osp.join(src, sub, split)), target)


def hardness(work):
    """Train the two fold segmentors and score each half with the other
    half's; returns the hardness file."""
    root = osp.join(work, 'data', DATA)
    out = osp.join(work, 'hardness.json')
    ids = [r['id'] for r in read_jsonl(osp.join(root, 'captions.jsonl'))]
    parts = dict(zip('ab', halves(ids)))
    done = {}
    if osp.isfile(out):
        with open(out, encoding='utf-8') as f:
            done = json.load(f)['hardness']
    for fold, other in (('a', 'b'), ('b', 'a')):
        fold_dir = osp.abspath(osp.join(work, 'folds', fold))
        link_fold(root, osp.join(fold_dir, 'data', DATA), parts[fold])
        os.environ['DLDM_DEMO_DIR'] = fold_dir
        options = schedule_options(FOLD_ITERS, 0)
        run_dir = osp.join(fold_dir, 'real')
        reuse_or_run(run_dir, run_config, REAL_ONLY, run_dir, options,
                     identity=config_run_identity(REAL_ONLY, options))
        if all(i in done for i in parts[other]):
            continue
        listing = osp.join(fold_dir, 'scored_ids.txt')
        with atomic_open(listing) as f:
            f.write('\n'.join(parts[other]) + '\n')
        subprocess.run(
            [sys.executable, 'tools/patch_hardness.py',
             osp.join(run_dir, osp.basename(REAL_ONLY)),
             osp.join(run_dir, f'iter_{FOLD_ITERS}.pth'), '--real', root,
             '--ids', listing, '--out', out], check=True)
    return out


def hard_variant(work):
    """The filter's variant, drawn by patch hardness."""
    variant = filter_variant(work, work)
    variant['suffix'] = 'hard_' + variant['suffix']
    variant['options'] = dict(variant['options'], shares=dict(
        rarity_exponent=0.0, patch_hardness=osp.abspath(hardness(work)),
        hardness_exponent=1.0))
    return variant


def report(runs, seeds, work):
    with open(osp.join(work, 'hardness.json'), encoding='utf-8') as f:
        values = json.load(f)['hardness']
    lines = ['# Hardness-aware draws on the interleaved budget (rule.md)',
             '', f'Seeds {seeds}, 3000 iterations, mean ± std.', '',
             '| arm | val mIoU | test mIoU | val building IoU | test '
             'building IoU | test building precision / recall |',
             '| --- ' * 6 + '|']
    for name, label in NAMES.items():
        lines.append(
            f'| {label} | {cell(runs, name, "val")} | '
            f'{cell(runs, name, "test")} | '
            f'{cell(runs, name, "val", "IoU.building")} | '
            f'{cell(runs, name, "test", "IoU.building")} | '
            f'{mean(runs, name, "test", "Precision.building"):.1f} / '
            f'{mean(runs, name, "test", "Recall.building"):.1f} |')
    arm = 'alpha_1_hard_filter_val_3000'
    bar = issue_bar(runs, arm, ['real_3000', 'oversample40_3000'],
                    ['building', 'background'])
    gate = bar['val_mIoU']['real_3000']
    passed = gate['beyond_std']
    lines += ['', f'- The gate (val, over real only by more than the larger '
              f'std): {gate["margin"]:+.2f} against {gate["larger_std"]:.2f}'
              f': **{"passed" if passed else "failed"}**.',
              f'- Out-of-fold hardness of the {len(values)} patches: mean '
              f'{np.mean(list(values.values())):.3f}, max '
              f'{max(values.values()):.3f}.']
    return '\n'.join(lines) + '\n', dict(gate=gate, gate_passed=passed,
                                         bar=bar)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', required=True,
                        help="the interleaved deal's appearance work dir")
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--read', action='store_true',
                        help='only read the finished runs')
    parser.add_argument('--out-dir', default=HERE)
    args = parser.parse_args()
    speed_up_configs()
    if not args.read:
        variant = hard_variant(args.work)
        for seed in args.seeds:
            run(args.work, 'alpha_1_hard_filter_val_3000', seed, 1.0,
                variant, iters=ITERS)
    runs = summarise_runs(osp.join(args.work, 'segmentors'), list(NAMES),
                          args.seeds, KEYS)
    text, verdict = report(runs, args.seeds, args.work)
    with atomic_open(osp.join(args.out_dir, 'hardness.md')) as f:
        f.write(text)
    write_verdict(osp.join(args.out_dir, 'hardness.json'),
                  dict(iters=ITERS, seeds=args.seeds, runs=runs, **verdict))


if __name__ == '__main__':
    main()
