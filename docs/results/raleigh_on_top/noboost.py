"""``noboost_rule.md``: the one-hot set drawn without the rarity boost
(``shares.rarity_exponent=0``) at alpha 1.0, batch 8, segmentor seeds
0-3, beside ``on_top.py``'s real only, oversampling and boosted one-hot
runs in the same work dir. Runs are reused when finished; ``--read``
only reads. Writes ``noboost.md`` / ``noboost.json`` here, or in
``--out-dir``::

    python docs/results/raleigh_on_top/noboost.py --work work_dirs/raleigh_ot
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
import on_top  # noqa: E402
from aggregate import side_by_side  # noqa: E402
from on_top import (CLASSES, KEYS, ONEHOT, OVERSAMPLE, REAL,  # noqa: E402
                    SET, WORD)

from dldm_mmseg.experiments.demo import finished_demo  # noqa: E402

NOBOOST = ONEHOT + '_noboost'
NAMES = {REAL: 'real only', OVERSAMPLE: 'oversampling 40%',
         ONEHOT: 'one-hot set (rarity boost 0.5)',
         NOBOOST: 'one-hot set, no boost'}


def train(work, seeds):
    """The no-boost arm, seed by seed, with the demo's run options."""
    with finished_demo(on_top.demo_args(work), on_top.ROOT) as demo:
        boosted = demo.set_variants()[f'masks of {SET}']
        variant = dict(suffix=boosted['suffix'] + '_noboost',
                       options=dict(boosted['options'],
                                    shares=dict(rarity_exponent=0.0)))
        sweep = demo.data.configs['sweep']
        for seed in seeds:
            on_top.run_arm(demo, seed, NOBOOST, 1.0, variant, demo.seg_options(
                sweep, demo.s['seg_iters'], seed))


def report(runs, seeds, shares):
    """``noboost.md``'s text and the verdict."""
    gate, passed, bar, judged = on_top.judge(runs, NOBOOST, NAMES)
    lines = ['# The one-hot set without the rarity boost (noboost_rule.md)',
             '', f'Alpha 1.0, batch 8, segmentor seeds {seeds}, mean ± std.',
             '']
    lines += side_by_side({NAMES[a]: runs[a] for a in NAMES}, KEYS, 'arm')
    lines += ['', 'Class shares (%):', ''] + on_top.shares_table(shares)
    lines += [''] + judged

    def mean(arm, key='mIoU', split='val'):
        return runs[arm][split][key]['mean']

    developed = shares['no-boost set, asked'][CLASSES.index('developed')]
    real = shares['real train masks'][CLASSES.index('developed')]
    held = {1: bool(abs(developed - real) <= 3.0),
            2: mean(NOBOOST, 'IoU.developed') > mean(ONEHOT, 'IoU.developed'),
            3: mean(NOBOOST) > mean(ONEHOT),
            4: (mean(NOBOOST, 'IoU.agriculture', 'test')
                < mean(ONEHOT, 'IoU.agriculture', 'test')),
            5: not passed}
    lines += [
        '', '## Predictions (noboost_rule.md)', '',
        f'- N1. asked developed share within 3 points of the real masks\' '
        f'({developed:.1f} against {real:.1f}): {WORD[held[1]]}.',
        f'- N2. val developed IoU above the boosted set\'s '
        f'({mean(NOBOOST, "IoU.developed"):.2f} against '
        f'{mean(ONEHOT, "IoU.developed"):.2f}): {WORD[held[2]]}.',
        f'- N3. val mIoU above the boosted set\'s ({mean(NOBOOST):.2f} '
        f'against {mean(ONEHOT):.2f}): {WORD[held[3]]}.',
        f'- N4. test agriculture IoU below the boosted set\'s '
        f'({mean(NOBOOST, "IoU.agriculture", "test"):.2f} against '
        f'{mean(ONEHOT, "IoU.agriculture", "test"):.2f}): {WORD[held[4]]}.',
        f'- N5. the gate fails: {WORD[held[5]]}.']
    return '\n'.join(lines) + '\n', dict(
        gate=gate, passed=passed, test_bar=bar, predictions=held,
        class_shares=on_top.shares_json(shares))


def main():
    args = on_top.rule_args(__doc__.split('\n\n')[0],
                            "on_top.py's Raleigh work dir")
    if not args.read:
        train(args.work, args.seeds)
    runs = on_top.read(args.work, args.seeds, NAMES)
    shares = on_top.class_shares(args.work, {
        'one-hot set': ONEHOT, 'no-boost set': NOBOOST})
    text, verdict = report(runs, args.seeds, shares)
    on_top.write_reading(args.out_dir, 'noboost', 'noboost_rule.md',
                         args.seeds, text, dict(runs=runs, **verdict))


if __name__ == '__main__':
    main()
