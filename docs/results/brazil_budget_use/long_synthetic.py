"""``rule.md``'s fifth addendum: oversampling 40% and the appearance set
at alpha 0.4 and 1.0 with the class-relative filter, each trained for
3000 iterations in one phase (the same poly schedule, stretched), seeds
0-4, beside addendum 3's real only at 3000 iterations. Runs go to
``<work>/segmentors/seed<N>/<run>_3000`` and are reused when finished.
Writes ``long_synthetic.json`` and ``long_synthetic.md`` here, or in
``--out-dir``::

    python docs/results/brazil_budget_use/long_synthetic.py \\
        --budget work_dirs/bbud --work work_dirs/bbud_app
"""
import os
import os.path as osp
import sys

from dldm_mmseg.experiments.alpha_sweep import (config_run_identity,
                                                reuse_or_run, run_config,
                                                schedule_options)
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
sys.path.insert(0, osp.join(HERE, '..', 'brazil_image_vae'))
from aggregate import issue_bar, load, rare_keys, summarise_runs  # noqa
from aggregate import write_verdict  # noqa: E402
from more_arms import run  # noqa: E402
from budget_use import (cell, filter_variant, mean,  # noqa: E402
                        parse_args)

ITERS = 3000
OVERSAMPLE = 'configs/demo/brazil/deeplabv3plus_brazil_oversample40.py'
ALPHAS = (0.4, 1.0)
NAMES = {'real_3000': 'real only',
         'oversample40_3000': 'oversampling 40%',
         'alpha_0.4_filter_val_3000': 'alpha 0.4, filter',
         'alpha_1_filter_val_3000': 'alpha 1.0, filter'}
AT_1500 = {'real_3000': 'alpha_0', 'oversample40_3000': 'oversample40',
           'alpha_0.4_filter_val_3000': 'alpha_0.4_filter_val',
           'alpha_1_filter_val_3000': 'alpha_1_filter_val'}


def train(budget, work, seeds):
    """Every run of the addendum (finished ones reused)."""
    variant = filter_variant(budget, work)
    for seed in seeds:
        os.environ['DLDM_DEMO_DIR'] = osp.abspath(work)
        options = schedule_options(ITERS, seed)
        run_dir = osp.join(work, 'segmentors', f'seed{seed}',
                           'oversample40_3000')
        reuse_or_run(run_dir, run_config, OVERSAMPLE, run_dir, options,
                     identity=config_run_identity(OVERSAMPLE, options))
        for alpha in ALPHAS:
            run(work, f'alpha_{alpha:g}_filter_val_3000', seed, alpha,
                variant, iters=ITERS)


def report(runs, short):
    """The markdown of ``long_synthetic.md``: both lengths, the pick, the
    bar and the predictions."""
    lines = ['# Four arms at 3000 iterations (rule.md, addendum 5)', '',
             'Seeds 0-4, mean ± std; the 1500-iteration means from '
             '`sweep.json`.', '',
             '| arm | val, 1500 | val, 3000 | test, 1500 | test, 3000 | '
             'test building IoU, 3000 | test building precision / recall, '
             '3000 |', '| --- | --- | --- | --- | --- | --- | --- |']
    for name, label in NAMES.items():
        lines.append(
            f'| {label} | {cell(short, AT_1500[name], "val")} | '
            f'{cell(runs, name, "val")} | '
            f'{cell(short, AT_1500[name], "test")} | '
            f'{cell(runs, name, "test")} | '
            f'{cell(runs, name, "test", "IoU.building")} | '
            f'{mean(runs, name, "test", "Precision.building"):.1f} / '
            f'{mean(runs, name, "test", "Recall.building"):.1f} |')
    pick = max(NAMES, key=lambda name: mean(runs, name, 'val'))
    bases = ['real_3000', 'oversample40_3000']
    bar = issue_bar(runs, pick, bases, ['building', 'background'])
    met = pick not in bases and bar['test_bar']
    test = ', '.join(f'{m["margin"]:+.2f} over {NAMES[b]} (larger std '
                     f'{m["larger_std"]:.2f})'
                     for b, m in bar['test_mIoU'].items())
    synthetic = [f'alpha_{a:g}_filter_val_3000' for a in ALPHAS]
    real_loss = mean(short, 'alpha_0', 'test') - mean(runs, 'real_3000',
                                                      'test')
    losses = {n: mean(short, AT_1500[n], 'test') - mean(runs, n, 'test')
              for n in synthetic}
    held = {
        1: all(loss < real_loss for loss in losses.values()),
        2: abs(mean(runs, 'alpha_1_filter_val_3000', 'test')
               - mean(short, 'alpha_0', 'test')) <= 1.0,
        3: all(mean(runs, n, 'test') > mean(runs, 'real_3000', 'test')
               for n in synthetic),
        4: pick == 'real_3000' and not met}
    word = {True: 'held', False: '**missed**'}
    losses_text = ', '.join(f'{NAMES[n]} {loss:+.2f}'
                            for n, loss in losses.items())
    lines += ['', f'- Val pick among the 3000-iteration arms: '
              f'{NAMES[pick]} (val {cell(runs, pick, "val")}, test '
              f'{cell(runs, pick, "test")}); test mIoU {test}; the bar (a '
              'synthetic arm above both on val and test beyond the larger '
              'std, and on building and background IoU by 3 points): '
              f'**{"met" if met else "missed"}**.', '',
              'Predictions (rule.md, addendum 5):', '',
              f'1. each synthetic arm loses less on test from 1500 to 3000 '
              f'than real only ({real_loss:.2f}; {losses_text}): '
              f'{word[held[1]]}.',
              f'2. alpha 1.0 at 3000 within 1.0 of real only at 1500 on '
              f'test ({mean(runs, "alpha_1_filter_val_3000", "test"):.2f} '
              f'against {mean(short, "alpha_0", "test"):.2f}): '
              f'{word[held[2]]}.',
              f'3. both synthetic arms above real only at 3000 on test '
              f'({mean(runs, "real_3000", "test"):.2f}): {word[held[3]]}.',
              f'4. the val pick is real only and the bar stays missed: '
              f'{word[held[4]]}.']
    return '\n'.join(lines) + '\n', dict(pick=pick, bar_met=met,
                                         predictions=held)


def main():
    args = parse_args(__doc__)
    speed_up_configs()
    train(args.budget, args.work, args.seeds)
    runs = summarise_runs(osp.join(args.work, 'segmentors'), list(NAMES),
                          args.seeds,
                          list(rare_keys('building')) + ['IoU.background'])
    short = load(osp.join(HERE, 'sweep.json'))['runs']
    text, verdict = report(runs, short)
    with atomic_open(osp.join(args.out_dir, 'long_synthetic.md')) as f:
        f.write(text)
    write_verdict(osp.join(args.out_dir, 'long_synthetic.json'), dict(
        iters=ITERS, seeds=args.seeds, runs=runs, **verdict))


if __name__ == '__main__':
    main()
