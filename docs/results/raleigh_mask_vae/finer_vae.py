"""``rule.md``: the one-hot mask VAE refitted to downsample by 2, stage 1
over it, its no-boost set at alpha 1.0, batch 8, segmentor seeds 0-3,
beside the runs of ``../raleigh_on_top/`` and ``../raleigh_real_masks/``
in the same work dir. Everything finished is reused; ``--read`` only
reads. Writes ``finer_vae.md`` / ``finer_vae.json`` / ``layouts.png``
here, or in ``--out-dir``::

    python docs/results/raleigh_mask_vae/finer_vae.py \\
        --work work_dirs/raleigh_ot
"""
import json
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'raleigh_real_masks'))
import layouts  # noqa: E402  (raleigh_real_masks/layouts.py)
from on_top import (KEYS, OVERSAMPLE, REAL, ROOT, WORD,  # noqa: E402
                    demo_args, judge, read, rule_args, run_arm,
                    write_reading)
from aggregate import margins, side_by_side  # noqa: E402
from noboost import NOBOOST  # noqa: E402  (raleigh_on_top/noboost.py)
from run import REAL_MASKS  # noqa: E402  (raleigh_real_masks/run.py)

from dldm_mmseg.experiments.demo import finished_demo  # noqa: E402
from dldm_mmseg.experiments.demo.measures import (  # noqa: E402
    mask_config_cpe)
from dldm_mmseg.models.vae_fitting import fit_vae  # noqa: E402

CONFIG = ('configs/demo/raleigh/'
          'mask_small_raleigh_onehot_f2_numeric_ce_only.py')
SHIPPED = 'mask_small_raleigh_onehot_numeric_ce_only'
VAE, VAE4 = 'vae_mask_onehot_f2', 'vae_mask_onehot'
ARM = 'alpha_1_masks_onehot_f2_noboost'
NAMES = {REAL: 'real only', OVERSAMPLE: 'oversampling 40%',
         NOBOOST: 'stage-1 set, VAE factor 4',
         REAL_MASKS: 'real masks painted',
         ARM: 'stage-1 set, VAE factor 2'}
SETS = {'stage-1 set, VAE factor 4':
        f'raleigh_syn_{NOBOOST[len("alpha_1_"):]}/ann_dir/train',
        'stage-1 set, VAE factor 2':
        f'raleigh_syn_{ARM[len("alpha_1_"):]}/ann_dir/train'}


def generators(demo):
    """Fit the factor-2 VAE and train stage 1 over it (each reused when
    there); returns stage 1's export and its val mCPE."""
    out = osp.join(demo.work, VAE)
    if not osp.isfile(osp.join(out, 'config.json')):
        fit_vae(demo.data_root, out, 'small', demo.data.source_dataset,
                iters=demo.s['vae_iters']['masks'], batch_size=16,
                kl_weight=1e-4, seed=demo.args.seed, log_interval=50,
                crop_size=demo.s['vae_crop'], content='masks',
                mask_encoding='onehot', scale_factor=2)
    return demo.train_generator(CONFIG), mask_config_cpe(demo, CONFIG,
                                                         split='val')


def train(demo, export, seeds):
    """The arm, seed by seed, with the demo's run options."""
    variant = dict(suffix=ARM[len('alpha_1_'):], options=dict(
        mask_generator=dict(config=CONFIG, weights=export),
        shares=dict(rarity_exponent=0.0)))
    sweep = demo.data.configs['sweep']
    for seed in seeds:
        run_arm(demo, seed, ARM, 1.0, variant,
                demo.seg_options(sweep, demo.s['seg_iters'], seed))


def load_json(*parts):
    with open(osp.join(*parts), encoding='utf-8') as f:
        return json.load(f)


def layout_rows(work, out_dir):
    """:mod:`layouts` statistics of the real train masks, both VAEs'
    round trips of them and both stage-1 sets; writes ``layouts.png``."""
    real = layouts.load(osp.join(work, 'data', layouts.SETS[
        'real train masks']))
    masks = {'real train masks': real}
    for label, vae in (('VAE factor 4', VAE4), ('VAE factor 2', VAE)):
        masks[f'real train masks, {label} round trip'] = \
            layouts.vae_round_trip(real, osp.join(work, vae))
    masks.update({label: layouts.load(osp.join(work, 'data', folder))
                  for label, folder in SETS.items()})
    stats = {name: layouts.layout_stats(m) for name, m in masks.items()}
    layouts.figure({k: masks[k] for k in (
        'real train masks', 'real train masks, VAE factor 2 round trip',
        *SETS)}, layouts.set_palette(work, SETS['stage-1 set, VAE factor 2']),
        osp.join(out_dir, 'layouts.png'))
    return layouts.table(stats), stats


def report(runs, seeds, mcpe, trips, stats):
    """``finer_vae.md``'s text and the verdict."""
    gate, passed, bar, judged = judge(runs, ARM, NAMES)
    over = margins(runs, ARM, [NOBOOST], 'val', 'mIoU')[NOBOOST]
    lines = ['# Stage 1 over a mask VAE that downsamples by 2 (rule.md)', '',
             f'Alpha 1.0, batch 8, segmentor seeds {seeds}, mean ± std.', '']
    lines += side_by_side({NAMES[a]: runs[a] for a in NAMES}, KEYS, 'arm')
    lines += ['', '| | VAE factor 4 | VAE factor 2 |', '| --- | --- | --- |',
              '| val masks kept in their class by the round trip (%) | ' +
              ' | '.join(f'{trips[k]["argmax"]["pixel_accuracy"]:.1f}'
                         for k in (4, 2)) + ' |',
              "| stage 1's val mCPE | " + ' | '.join(
                  f'{mcpe[k]["mCPE"]:.2f}' for k in (4, 2)) + ' |']
    lines += ['', 'Layouts (`../raleigh_real_masks/layouts.py`):', '']
    lines += stats[0]
    lines += ['', f'- over the factor-4 set (val mIoU): '
              f'{over["margin"]:+.2f}, larger std {over["larger_std"]:.2f}: '
              'the finer VAE takes back stage 1\'s layout cost: **' +
              ('yes' if over['beyond_std'] else 'not shown') + '**.'] + judged

    def developed(name, stat):
        return stats[1][name]['developed'][stat]

    four, two = SETS
    held = {1: (trips[2]['argmax']['pixel_accuracy'] >
                trips[4]['argmax']['pixel_accuracy']),
            2: (developed(two, 'patch') < developed(four, 'patch') and
                developed(two, 'edge') > developed(four, 'edge')),
            3: mcpe[2]['mCPE'] <= mcpe[4]['mCPE'] + 1.0,
            4: (runs[ARM]['val']['mIoU']['mean'] >
                runs[NOBOOST]['val']['mIoU']['mean']),
            5: not passed}
    held = {k: bool(v) for k, v in held.items()}  # numpy comparisons
    lines += [
        '', '## Predictions (rule.md)', '',
        f'- F1. the factor-2 round trip keeps more val pixels: '
        f'{WORD[held[1]]}.',
        f'- F2. the factor-2 set\'s developed patches smaller '
        f'({developed(two, "patch"):.1f} against '
        f'{developed(four, "patch"):.1f}) with a larger edge share '
        f'({developed(two, "edge"):.1f} against '
        f'{developed(four, "edge"):.1f}): {WORD[held[2]]}.',
        f'- F3. val mCPE at most 1.0 above the factor-4 model\'s: '
        f'{WORD[held[3]]}.',
        f'- F4. val mIoU above the factor-4 set\'s: {WORD[held[4]]}.',
        f'- F5. the gate fails: {WORD[held[5]]}.']
    return '\n'.join(lines) + '\n', dict(
        gate=gate, passed=passed, over_factor4=over, test_bar=bar,
        predictions=held, mcpe=mcpe, round_trip=trips, layouts=stats[1])


def main():
    args = rule_args(__doc__.split('\n\n')[0],
                     "raleigh_on_top's Raleigh work dir", HERE)
    with finished_demo(demo_args(args.work), ROOT) as demo:
        export, mcpe = generators(demo)
        if not args.read:
            train(demo, export, args.seeds)
    runs = read(args.work, args.seeds, NAMES)
    mcpe = {4: load_json(args.work, SHIPPED, 'test_val', 'metrics.json'),
            2: mcpe}
    trips = {4: load_json(args.work, VAE4 + '_fit', 'round_trip.json'),
             2: load_json(args.work, VAE + '_fit', 'round_trip.json')}
    stats = layout_rows(args.work, args.out_dir)
    text, verdict = report(runs, args.seeds, mcpe, trips, stats)
    write_reading(args.out_dir, 'finer_vae', 'rule.md',
                  args.seeds, text, dict(runs=runs, **verdict))


if __name__ == '__main__':
    main()
