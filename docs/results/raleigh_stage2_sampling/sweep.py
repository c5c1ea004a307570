"""``rule.md``: the Raleigh stage 2 of ``--work`` painting the real val
and test masks at each guidance scale and step count of the rule, the
same images read by the real-only segmentor of each seed; then, when val
picks a setting other than the shipped one, the no-boost real-mask set
painted with it at alpha 1.0, batch 8, beside real only, oversampling and
the same set painted as shipped (``../raleigh_real_masks/run.py``'s arm).
Paintings and runs are reused when finished; ``--read`` trains
nothing (a missing painting is still painted).
Writes ``sampling.md``, ``sampling.json`` and ``sampling.png`` here, or
in ``--out-dir``::

    python docs/results/raleigh_stage2_sampling/sweep.py \\
        --work work_dirs/raleigh_ot
"""
import itertools
import json
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'raleigh_real_masks'))
import run as real_masks  # noqa: E402  (raleigh_real_masks/run.py)
from aggregate import margins, side_by_side, summarise  # noqa: E402
from run import REAL_MASKS, SPLITS, on_top  # noqa: E402
from on_top import CLASSES, KEYS, OVERSAMPLE, REAL, WORD  # noqa: E402

from dldm_mmseg.experiments.demo import finished_demo  # noqa: E402
from dldm_mmseg.utils.io import atomic_open  # noqa: E402

GUIDANCE = (1.0, 1.5, 2.0, 3.0, 5.0, 7.5)
STEPS = (10, 20, 50)
SHIPPED = (2.0, 20)
SETTINGS = list(itertools.product(GUIDANCE, STEPS))


def tag(setting):
    """``g<guidance>_s<steps>``, a setting's name in folders and keys."""
    return f'g{setting[0]:g}_s{setting[1]}'


def arm_of(setting):
    """The downstream run of ``setting``'s real-mask set."""
    return f'{REAL_MASKS}_{tag(setting)}'


def unet_passes(setting):
    """UNet (and ControlNet) evaluations per painted image: two per step
    under classifier-free guidance, one without."""
    guidance, steps = setting
    return steps * (2 if guidance > 1 else 1)


def sampled(synthesis, setting):
    """The synth config's ``synthesis`` settings with ``setting``'s image
    sampling."""
    guidance, steps = setting
    return dict(synthesis, image_sampling=dict(
        synthesis.get('image_sampling') or {}, guidance_scale=guidance,
        steps=steps))


def paint(demo, seeds):
    """``{tag: {split: {seed: consistency scores}}}``: each setting's
    :func:`run.paint_for_readers` (in ``<work>/stage2_sampling/<tag>``)."""
    synthesis = demo.synthesis_cfg()
    scores = {}
    for setting in SETTINGS:
        name = tag(setting)
        scores[name] = real_masks.paint_for_readers(
            demo, seeds, sampled(synthesis, setting),
            osp.join('stage2_sampling', name),
            f'raleigh_stage2_sampling_{name}')
        for split in SPLITS:
            print(name, split, {s: round(v['consistency_mIoU'], 2)
                                for s, v in scores[name][split].items()},
                  flush=True)
    return scores


def ratios(painted, runs, seeds, key='mIoU'):
    """Per setting, :func:`aggregate.summarise` of each reader's
    consistency ``key`` over its ``key`` on the real images of the split
    (``{'val': {tag: {mean, std, per_seed}}, 'test': ...}``)."""
    at = {s: runs[REAL]['seeds'].index(s) for s in seeds}
    per_seed = {s: {split: {
        name: painted[name][split][s][f'consistency_{key}'] /
        runs[REAL][split][key]['per_seed'][at[s]]
        for name in painted} for split in SPLITS} for s in seeds}
    return summarise(per_seed, list(painted))


def pick(table):
    """The setting with the highest val mean ratio (the first in the
    rule's order on a tie)."""
    return max(SETTINGS, key=lambda s: table['val'][tag(s)]['mean'])


def train(demo, seeds, setting):
    """``setting``'s real-mask arm at alpha 1.0 (:func:`run.train`): the
    no-boost real-mask set painted with ``setting``'s image sampling."""
    arm = arm_of(setting)
    real_masks.train(demo, seeds, ((arm, 1.0),), {
        arm[len('alpha_1_'):]: dict(
            real_masks.SETS['real_masks_noboost'], image_sampling=dict(
                guidance_scale=setting[0], steps=setting[1]))})


def figure(table, developed, path):
    """Val and test ratio (mIoU, and developed IoU) against the guidance
    scale, a line per step count, error bars the readers' std."""
    readers = len(table['seeds'])
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for row, (what, summary) in enumerate((('mIoU', table),
                                           ('developed IoU', developed))):
        for ax, split in zip(axes[row], SPLITS):
            for i, steps in enumerate(STEPS):
                cells = [summary[split][tag((g, steps))] for g in GUIDANCE]
                ax.errorbar([g * (1 + 0.02 * (i - 1)) for g in GUIDANCE],
                            [c['mean'] for c in cells],
                            [c['std'] for c in cells], marker='o', ms=4,
                            capsize=2, label=f'{steps} steps')
            shipped = summary[split][tag(SHIPPED)]['mean']
            ax.axhline(shipped, color='0.6', lw=0.8, ls='--')
            ax.set_xscale('log')
            ax.minorticks_off()
            ax.set_xticks(GUIDANCE)
            ax.set_xticklabels([f'{g:g}' for g in GUIDANCE])
            ax.set_title(f'{split}: {what} on painted / on real images')
            ax.grid(alpha=0.3)
        axes[row][0].set_ylabel(f'ratio (mean ± std, {readers} readers)')
    for ax in axes[1]:
        ax.set_xlabel('guidance scale (1 = no classifier-free guidance)')
    axes[0][0].legend(fontsize=8)
    fig.suptitle('Stage 2 on the real Raleigh masks: sampling settings '
                 '(dashed: shipped, 2.0 and 20 steps)')
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=100)
    plt.close(fig)


def sweep_rows(table, developed):
    """The sweep's markdown table: a row per setting."""
    rows = ['| guidance | steps | UNet passes | val ratio | test ratio | '
            'val developed ratio | test developed ratio |',
            '| --- ' * 7 + '|']
    for setting in SETTINGS:
        name = tag(setting)
        cells = [f'{s[name]["mean"]:.3f} ± {s[name]["std"]:.3f}'
                 for s in (table['val'], table['test'], developed['val'],
                           developed['test'])]
        mark = ' (shipped)' if setting == SHIPPED else ''
        rows.append(f'| {setting[0]:g}{mark} | {setting[1]} | '
                    f'{unet_passes(setting)} | ' + ' | '.join(cells) + ' |')
    return rows


def without_class(runs, left_out='agriculture'):
    """Per arm, :func:`aggregate.summarise` of each seed's mean IoU over
    every class but ``left_out`` (``key`` ``'mIoU_without'``)."""
    kept = [f'IoU.{c}' for c in CLASSES if c != left_out]
    return {arm: summarise({seed: {split: {'mIoU_without': sum(
        run[split][k]['per_seed'][i] for k in kept) / len(kept)}
        for split in SPLITS} for i, seed in enumerate(run['seeds'])},
        ['mIoU_without']) for arm, run in runs.items()}


def split_pixels(work, name):
    """``{split: labelled pixels of class name}`` of the Raleigh tiles
    (the data's ``summary.json``)."""
    with open(osp.join(work, 'data', 'raleigh_landsat', 'summary.json'),
              encoding='utf-8') as f:
        splits = json.load(f)['splits']
    return {split: round(v['labelled_pixels'] * v['shares'][name])
            for split, v in splits.items()}


def report(table, developed, chosen, runs, seeds, painted, pixels=None):
    """``sampling.md``'s text and the verdict (with every reader's
    consistency IoUs of every painting, from ``painted``); ``runs`` is
    None when nothing trained."""
    shipped, best = (table['val'][tag(s)] for s in (SHIPPED, chosen))
    lead = best['mean'] - shipped['mean']
    larger = max(best['std'], shipped['std'])
    lines = ["# Stage 2's sampling settings on Raleigh (rule.md)", '',
             "Stage 2 painting the real val and test masks; ratio = a "
             "real-only reader's consistency over its score on the real "
             f'images of the split, mean ± std over readers {seeds}.', '']
    lines += sweep_rows(table, developed)
    lines += ['', f'- val picks guidance {chosen[0]:g}, {chosen[1]} steps '
              f'({best["mean"]:.3f}); the shipped setting reads '
              f'{shipped["mean"]:.3f} (lead {lead:+.3f}, larger std '
              f'{larger:.3f}).']
    verdict = dict(
        pick=dict(guidance_scale=chosen[0], steps=chosen[1]),
        sweep=table, sweep_developed=developed,
        painted={name: {split: {seed: {
            k: v for k, v in scores.items()
            if k.startswith(('consistency_mIoU', 'consistency_IoU.'))}
            for seed, scores in by_seed.items()}
            for split, by_seed in splits.items()}
            for name, splits in painted.items()})
    if runs is None:
        lines.append('- The pick is the shipped setting: nothing trains.')
    else:
        arm = arm_of(chosen)
        names = {REAL: 'real only', OVERSAMPLE: 'oversampling 40%',
                 REAL_MASKS: 'real masks, shipped sampling',
                 arm: f'real masks, guidance {chosen[0]:g}, '
                      f'{chosen[1]} steps'}
        lines += ['', '## Downstream: alpha 1.0, batch 8', '']
        lines += side_by_side({names[a]: runs[a] for a in names}, KEYS,
                              'arm')
        sampling_gate = margins(runs, arm, [REAL_MASKS], 'val', 'mIoU')
        sampling_passed = bool(sampling_gate[REAL_MASKS]['beyond_std'])
        gate, passed, bar, judged = on_top.judge(runs, arm, names)
        lines += ['', on_top.gate_line(
            sampling_gate, names, sampling_passed,
            "over the shipped sampling's arm").replace(
                '- the gate', '- the sampling gate', 1)] + judged
        rest = without_class(runs)
        lines += [
            '', '## Without agriculture (beside the rule; decides nothing)',
            '', f'Agriculture holds {pixels["val"]} labelled val pixels '
            f'and {pixels["test"]} test pixels. Mean IoU over the other '
            'five classes:', '',
            '| arm | val | test | agriculture IoU, val / test |',
            '| --- | --- | --- | --- |']
        for arm, name in names.items():
            cells = [f'{rest[arm][sp]["mIoU_without"]["mean"]:.2f} ± '
                     f'{rest[arm][sp]["mIoU_without"]["std"]:.2f}'
                     for sp in SPLITS]
            rare = ' / '.join(
                f'{runs[arm][sp]["IoU.agriculture"]["mean"]:.2f}'
                for sp in SPLITS)
            lines.append(f'| {name} | ' + ' | '.join(cells) +
                         f' | {rare} |')
        verdict.update(runs=runs, sampling_gate=sampling_gate,
                       sampling_passed=sampling_passed, gate=gate,
                       passed=passed, test_bar=bar,
                       without_agriculture=rest,
                       agriculture_pixels=pixels)
    no_cfg = table['val'][tag((1.0, 20))]['mean']
    fewer = table['val'][tag((2.0, 10))]['mean']
    held = {1: no_cfg < shipped['mean'], 2: lead < larger,
            3: abs(fewer - shipped['mean']) <= 0.03,
            4: runs is None or not (verdict['sampling_passed']
                                    or verdict['passed'])}
    lines += [
        '', '## Predictions (rule.md)', '',
        f'- G1. without classifier-free guidance (1.0, 20 steps) the val '
        f'ratio is below the shipped one ({no_cfg:.3f} against '
        f'{shipped["mean"]:.3f}): {WORD[held[1]]}.',
        f'- G2. the pick leads the shipped setting on val by less than the '
        f'larger std ({lead:+.3f} against {larger:.3f}): {WORD[held[2]]}.',
        f'- G3. 10 steps within 0.03 of 20 at guidance 2.0 on val '
        f'({fewer - shipped["mean"]:+.3f}): {WORD[held[3]]}.',
        '- G4. an arm that trains passes neither gate: ' +
        (f'{WORD[held[4]]}.' if runs is not None else
         'nothing trained.')]
    verdict['predictions'] = held
    return '\n'.join(lines) + '\n', verdict


def main():
    args = on_top.rule_args(__doc__.split('\n\n')[0],
                            "raleigh_on_top's Raleigh work dir", HERE)
    with finished_demo(on_top.demo_args(args.work), on_top.ROOT) as demo:
        real = on_top.read(args.work, args.seeds, {REAL: 'real only'})
        painted = paint(demo, args.seeds)
        table = ratios(painted, real, args.seeds)
        developed = ratios(painted, real, args.seeds, 'IoU.developed')
        chosen = pick(table)
        runs = None
        if chosen != SHIPPED:
            if not args.read:
                train(demo, args.seeds, chosen)
            runs = on_top.read(args.work, args.seeds, [
                REAL, OVERSAMPLE, REAL_MASKS, arm_of(chosen)])
    figure(table, developed, osp.join(args.out_dir, 'sampling.png'))
    text, verdict = report(table, developed, chosen, runs, args.seeds,
                           painted, split_pixels(args.work, 'agriculture'))
    on_top.write_reading(args.out_dir, 'sampling', 'rule.md', args.seeds,
                         text, verdict)


if __name__ == '__main__':
    main()
