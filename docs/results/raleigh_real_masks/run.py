"""``rule.md``: alpha 1.0 over a set that stage 2 paints for the real
Raleigh train masks (``synthesis.masks='real'``, no rarity boost), batch
8, segmentor seeds 0-3, beside the real only, oversampling and one-hot
set runs of ``../raleigh_on_top/`` in the same work dir; then stage 2
painting the real val and test masks, read by each seed's real-only
segmentor. Runs are reused when finished; ``--read`` trains nothing (a
missing painting is still painted). Writes
``real_masks.md`` / ``real_masks.json`` here, or in ``--out-dir``::

    python docs/results/raleigh_real_masks/run.py --work work_dirs/raleigh_ot
"""
import os.path as osp
import sys

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'raleigh_on_top'))
import on_top  # noqa: E402
from aggregate import margins, side_by_side, summarise  # noqa: E402
from noboost import NOBOOST  # noqa: E402  (raleigh_on_top/noboost.py)
from on_top import (CLASSES, KEYS, ONEHOT, OVERSAMPLE, REAL,  # noqa: E402
                    WORD)

from dldm_mmseg.experiments.alpha_sweep import finished_run  # noqa: E402
from dldm_mmseg.experiments.demo import finished_demo  # noqa: E402
from dldm_mmseg.experiments.demo.measures import (  # noqa: E402
    paint_real_masks)

REAL_MASKS = 'alpha_1_real_masks_noboost'
NAMES = {REAL: 'real only', OVERSAMPLE: 'oversampling 40%',
         ONEHOT: 'one-hot set (rarity boost 0.5)',
         NOBOOST: 'one-hot set, no boost',
         REAL_MASKS: 'real masks painted, no boost'}
SETS = {'real_masks_noboost': dict(masks='real',
                                   shares=dict(rarity_exponent=0.0)),
        'real_masks': dict(masks='real')}
SPLITS = ('val', 'test')
COLUMNS = {'consistency': 'consistency IoU', 'real': 'real images IoU',
           'ratio': 'ratio'}


def real_only_dir(demo, seed):
    """The real-only run of ``seed`` in ``demo``'s work dir."""
    return osp.join(demo.work, 'sweep' + demo.seed_suffix(seed), REAL)


def train(demo, seeds, arms=((REAL_MASKS, 1.0),), sets=SETS):
    """``arms`` (run name, alpha), seed by seed, with the run options of
    ``demo`` (a finished demo of the work dir); a run
    ``alpha_<a>_<suffix>`` trains on the set of ``sets[suffix]``'s
    synthesis options (by default :data:`SETS`: the no-boost set's
    settings with ``masks='real'``, the boosted one without
    ``_noboost``)."""
    sweep = demo.data.configs['sweep']
    for seed in seeds:
        for name, alpha in arms:
            suffix = name.split('_', 2)[2]
            on_top.run_arm(demo, seed, name, alpha,
                           dict(suffix=suffix, options=sets[suffix]),
                           demo.seg_options(sweep, demo.s['seg_iters'], seed))


def paint_for_readers(demo, seeds, synthesis, folder, name):
    """``{split: {seed: consistency scores}}``: stage 2 of ``demo``,
    sampled as ``synthesis`` says, painting each split's real masks once
    (in ``<work>/<folder>/<split>``, a folder of its own for readers
    other than the rule's; reused when finished), the same images read by
    the real-only segmentor of each of ``seeds``."""
    sweep = demo.data.configs['sweep']
    readers = {f'seed{s}': finished_run(real_only_dir(demo, s), sweep)
               for s in seeds}
    if seeds != on_top.RULED:
        folder += '_readers' + '_'.join(map(str, seeds))
    image = demo.image_config
    scores = {}
    for split in SPLITS:
        metrics = paint_real_masks(
            osp.join(demo.root, image), demo.generator_options(image),
            demo.export_dir(image), demo.data_root, demo.data.source_dataset,
            split, synthesis, readers, osp.join(demo.work, folder, split),
            f'{name}_{split}')
        scores[split] = {s: {
            key.split('/', 1)[1]: value for key, value in metrics.items()
            if key.startswith(f'seed{s}/')} for s in seeds}
    return scores


def paint(demo, seeds):
    """:func:`paint_for_readers` with the demo's sampling, in
    ``<work>/stage2_real_masks``."""
    return paint_for_readers(demo, seeds, demo.synthesis_cfg(),
                             'stage2_real_masks', 'raleigh_real_masks')


def consistency_table(painted, runs, seeds):
    """Per split and class: stage 2's consistency IoU on the real masks,
    the reader's IoU on the real images, and their ratio, each mean ±
    std over the readers (``seeds``; a ratio is left out where the
    reader's real-image IoU is 0, and the row says over how many); returns
    the markdown rows and the summary (:func:`aggregate.summarise`, NaN
    as None)."""
    names = ['mIoU', *CLASSES]
    per_seed = {}
    for seed in seeds:
        at = runs[REAL]['seeds'].index(seed)
        per_seed[seed] = {split: {} for split in SPLITS}
        for split, name in ((sp, n) for sp in SPLITS for n in names):
            key = 'mIoU' if name == 'mIoU' else f'IoU.{name}'
            ours = painted[split][seed]['consistency_' + key]
            real = runs[REAL][split][key]['per_seed'][at]
            per_seed[seed][split].update({
                f'consistency.{name}': ours, f'real.{name}': real,
                f'ratio.{name}': ours / real if real > 0 else np.nan})
    summary = summarise(per_seed, [f'{c}.{n}' for c in COLUMNS
                                   for n in names])
    rows = ['| split | class | ' + ' | '.join(COLUMNS.values()) + ' |',
            '| --- ' * (2 + len(COLUMNS)) + '|']
    for split, name in ((sp, n) for sp in SPLITS for n in names):
        cells = []
        for column in COLUMNS:
            cell = summary[split][f'{column}.{name}']
            kept = int(np.isfinite(cell['per_seed']).sum())
            cells.append('–' if not kept else
                         f'{cell["mean"]:.2f} ± {cell["std"]:.2f}' +
                         (f' ({kept} of {len(seeds)} readers)'
                          if kept < len(seeds) else ''))
        rows.append(f'| {split} | {name} | ' + ' | '.join(cells) + ' |')
    return rows, none_for_nan(summary)


def none_for_nan(value):
    """``value`` with every NaN float, at any depth, made None (JSON
    null)."""
    if isinstance(value, dict):
        return {k: none_for_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [none_for_nan(v) for v in value]
    return None if isinstance(value, float) and np.isnan(value) else value


def attribution(runs, key):
    """The rule's two readings of ``key`` on val: stage 1's layouts cost
    (the real-mask arm above the no-boost set beyond the spread) and
    stage 2's images cost (below real only beyond the spread)."""
    over_set = margins(runs, REAL_MASKS, [NOBOOST], 'val', key)[NOBOOST]
    over_real = margins(runs, REAL_MASKS, [REAL], 'val', key)[REAL]
    return dict(
        layouts_cost=bool(over_set['beyond_std']),
        images_cost=bool(over_real['margin'] < -over_real['larger_std']),
        over_noboost_set=over_set, over_real_only=over_real)


def report(runs, seeds, shares, painted):
    """``real_masks.md``'s text and the verdict."""
    gate, passed, bar, judged = on_top.judge(runs, REAL_MASKS, NAMES)
    lines = ['# Stage 2 painting the real Raleigh train masks (rule.md)',
             '', f'Alpha 1.0, batch 8, segmentor seeds {seeds}, mean ± std.',
             '']
    lines += side_by_side({NAMES[a]: runs[a] for a in NAMES}, KEYS, 'arm')
    lines += ['', 'Class shares (%):', ''] + on_top.shares_table(shares)
    readings = {key: attribution(runs, key)
                for key in ('IoU.developed', 'mIoU')}
    lines += ['', '## Which generator costs (val)', '']
    for key, r in readings.items():
        s, o = r['over_noboost_set'], r['over_real_only']
        lines.append(
            f'- {key}: over the no-boost set {s["margin"]:+.2f} (larger std '
            f'{s["larger_std"]:.2f}), over real only {o["margin"]:+.2f} '
            f'({o["larger_std"]:.2f}): stage 1\'s layouts cost: '
            f'**{"yes" if r["layouts_cost"] else "not shown"}**; stage 2\'s '
            f'images cost: **{"yes" if r["images_cost"] else "not shown"}**' +
            ('; the two are not separated at these seeds, and the means are '
             'a lead only.' if not (r['layouts_cost'] or r['images_cost'])
             else '.'))
    lines += [''] + judged
    rows, table = consistency_table(painted, runs, seeds)
    lines += ['', '## Stage 2 on the real val and test masks', '',
              "Read by each seed's real-only segmentor; ratio = consistency "
              'IoU over that segmentor\'s IoU on the real images of the '
              'split.', ''] + rows

    def mean(arm, key='IoU.developed'):
        return runs[arm]['val'][key]['mean']

    developed = table['val']['ratio.developed']['mean']
    held = {1: mean(REAL_MASKS) > mean(NOBOOST),
            2: mean(REAL_MASKS) < mean(REAL),
            3: bool(developed >= 0.9), 4: not passed}
    lines += [
        '', '## Predictions (rule.md)', '',
        f'- M1. val developed IoU above the no-boost set\'s '
        f'({mean(REAL_MASKS):.2f} against {mean(NOBOOST):.2f}): '
        f'{WORD[held[1]]}.',
        f'- M2. still below real only\'s ({mean(REAL_MASKS):.2f} against '
        f'{mean(REAL):.2f}): {WORD[held[2]]}.',
        f'- M3. developed consistency on the val masks at least 0.9 of '
        f'the real val images\' IoU ({developed:.2f}): {WORD[held[3]]}.',
        f'- M4. the gate fails: {WORD[held[4]]}.']
    return '\n'.join(lines) + '\n', dict(
        gate=gate, passed=passed, test_bar=bar, predictions=held,
        attribution=readings, stage2_on_real_masks=table,
        class_shares=on_top.shares_json(shares))


def main():
    args = on_top.rule_args(__doc__.split('\n\n')[0],
                            "raleigh_on_top's Raleigh work dir", HERE)
    with finished_demo(on_top.demo_args(args.work), on_top.ROOT) as demo:
        if not args.read:
            train(demo, args.seeds)
        runs = on_top.read(args.work, args.seeds, NAMES)
        painted = paint(demo, args.seeds)
    shares = on_top.class_shares(args.work, {
        'no-boost set': NOBOOST, 'real-mask set': REAL_MASKS})
    text, verdict = report(runs, args.seeds, shares, painted)
    on_top.write_reading(args.out_dir, 'real_masks', 'rule.md',
                         args.seeds, text, dict(runs=runs, **verdict))


if __name__ == '__main__':
    main()
