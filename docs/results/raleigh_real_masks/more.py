"""``more_rule.md``: the real-mask set drawn with the rarity boost at
alpha 1.0, and the no-boost real-mask set at alpha 0.4, batch 8,
segmentor seeds 0-3, beside ``run.py``'s runs in the same work dir.
Runs are reused when finished; ``--read`` only reads. Writes
``more.md`` / ``more.json`` here, or in ``--out-dir``::

    python docs/results/raleigh_real_masks/more.py --work work_dirs/raleigh_ot
"""
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
import run as real_masks  # noqa: E402
from aggregate import issue_bar, margins, side_by_side  # noqa: E402
from on_top import KEYS, OVERSAMPLE, REAL, WORD  # noqa: E402
from run import REAL_MASKS, on_top  # noqa: E402
from verdict import RARE  # noqa: E402

from dldm_mmseg.experiments.demo import finished_demo  # noqa: E402

BOOST = 'alpha_1_real_masks'
LOW = 'alpha_0.4_real_masks_noboost'
NAMES = {REAL: 'real only', OVERSAMPLE: 'oversampling 40%',
         REAL_MASKS: 'real masks, no boost, alpha 1.0',
         BOOST: 'real masks, boost 0.5, alpha 1.0',
         LOW: 'real masks, no boost, alpha 0.4'}
ARMS = (BOOST, LOW)


def report(runs, seeds, shares):
    """``more.md``'s text and the verdict."""
    gates = {arm: margins(runs, arm, [REAL, OVERSAMPLE], 'val', 'mIoU')
             for arm in ARMS}
    passed = {arm: all(g['beyond_std'] for g in gate.values())
              for arm, gate in gates.items()}
    lines = ['# The real-mask set drawn toward rare classes, and at alpha '
             '0.4 (more_rule.md)', '',
             f'Batch 8, segmentor seeds {seeds}, mean ± std.', '']
    lines += side_by_side({NAMES[a]: runs[a] for a in NAMES}, KEYS, 'arm')
    lines += ['', 'Class shares (%):', ''] + on_top.shares_table(shares)
    lines.append('')
    for arm in ARMS:
        lines.append(on_top.gate_line(gates[arm], NAMES, passed[arm],
                                      NAMES[arm] + ' over each baseline'))

    def mean(arm, key='mIoU', split='val'):
        return runs[arm][split][key]['mean']

    bar = None
    if any(passed.values()):
        best = max((a for a in ARMS if passed[a]), key=mean)
        bar = dict(arm=best, **issue_bar(runs, best, [REAL, OVERSAMPLE],
                                         RARE))
        lines.append(f"- the issue's bar (test, {NAMES[best]}): **" +
                     ('met' if bar['test_bar'] else 'missed') + '**.')
    held = {1: mean(BOOST, 'IoU.water') > mean(REAL_MASKS, 'IoU.water'),
            2: abs(mean(BOOST) - mean(REAL_MASKS)) <= 1.0,
            3: abs(mean(LOW) - mean(REAL)) <= 1.0,
            4: not any(passed.values())}
    lines += [
        '', '## Predictions (more_rule.md)', '',
        f'- B1. boosted val water IoU above the no-boost arm\'s '
        f'({mean(BOOST, "IoU.water"):.2f} against '
        f'{mean(REAL_MASKS, "IoU.water"):.2f}): {WORD[held[1]]}.',
        f'- B2. boosted val mIoU within 1.0 of the no-boost arm\'s '
        f'({mean(BOOST) - mean(REAL_MASKS):+.2f}): {WORD[held[2]]}.',
        f'- B3. alpha 0.4 val mIoU within 1.0 of real only\'s '
        f'({mean(LOW) - mean(REAL):+.2f}): {WORD[held[3]]}.',
        f'- B4. neither arm passes the gate: {WORD[held[4]]}.']
    return '\n'.join(lines) + '\n', dict(
        gates=gates, passed=passed, test_bar=bar, predictions=held,
        class_shares=on_top.shares_json(shares))


def main():
    args = on_top.rule_args(__doc__.split('\n\n')[0],
                            "raleigh_on_top's Raleigh work dir", HERE)
    if not args.read:
        with finished_demo(on_top.demo_args(args.work), on_top.ROOT) as demo:
            real_masks.train(demo, args.seeds, ((BOOST, 1.0), (LOW, 0.4)))
    runs = on_top.read(args.work, args.seeds, NAMES)
    shares = on_top.class_shares(args.work, {
        'no-boost real-mask set': REAL_MASKS, 'boosted real-mask set': BOOST})
    text, verdict = report(runs, args.seeds, shares)
    on_top.write_reading(args.out_dir, 'more', 'more_rule.md',
                         args.seeds, text, dict(runs=runs, **verdict))


if __name__ == '__main__':
    main()
