"""The Raleigh demo's readings by their rules: the segmentors' table (val
and test, mean ± std over the seeds read), the gate and the issue's bar
for the synthetic candidate against real only and oversampling
(agriculture and water).

- ``rule.md`` / ``recipe_rule.md`` (the default: seeds 0-2): the candidate
  is alpha 0.4, or alpha 0.4 with the class-relative filter
  (``--class-filter``) where the work dir holds it, whichever has the
  higher mean val mIoU; beside it stage 1's test mCPE against the
  prompt-blind constant, stage 2's consistency on the real test masks,
  the filter's ignored share per class and the prediction. Writes
  ``verdict.json`` here, or ``--out``::

    python docs/results/real_raleigh/verdict.py work_dirs/demo_raleigh_landsat

- ``alpha02_rule.md`` (``--candidates alpha_0.2 --seeds 3 4 5``, ``--out``
  required): the segmentors only (each arm's means under ``arms``), and
  the rule's prediction (alpha 0.2's test agriculture IoU above 0 on
  every seed read)::

    python docs/results/real_raleigh/verdict.py work_dirs/raleigh_v2 \\
        --candidates alpha_0.2 --seeds 3 4 5 \\
        --out docs/results/real_raleigh/chosen_on_val/alpha02_verdict.json

- ``filter_rule.md`` (``--candidates alpha_0.4 alpha_0.4_filter
  alpha_0.4_filter_val --seeds 0 1 2 3 4 5``): the same, with each
  filtered set's ignored share per class beside it.

- ``weak_rule.md`` (``--candidates alpha_0.4 alpha_0.4_weak --seeds 0 1
  2 3 4 5``) and ``share_rule.md`` (``--candidates alpha_0.4_share``):
  the same. Their predictions are read from ``arms``.

- ``onehot_set_rule.md`` (``--candidates alpha_0.4_onehot --seeds 0 1 2
  3 4 5``): the same, for the set drawn by the one-hot share-vector stage
  1 (``--set-mask-model``).

- ``../synthetic_gain/atlanta_filter_rule.md`` (``--scene atlanta
  --candidates alpha_0.4_filter alpha_0.4_filter_val --seeds 0 1 2 3 4
  5``): the same reading on an Atlanta demo work dir, building the rare
  class.

- ``../real_brazil/rule.md`` (``--scene brazil --candidates alpha_0.4
  alpha_0.4_filter alpha_0.4_filter_val --seeds 0 1 2 3 4 5``): the same
  on the Brazil orthophoto's work dir.
"""
import argparse
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import (filter_shares, issue_bar, load,  # noqa: E402
                       runs_by_seed, side_by_side, summarise, write_verdict)

CLASSES = ('developed', 'agriculture', 'herbaceous', 'shrubland', 'forest',
           'water')
RARE = ('agriculture', 'water')
# --scene: the demo dataset, its classes and the rare ones the bar reads
SCENES = {'raleigh': ('raleigh_landsat', CLASSES, RARE),
          'atlanta': ('spacenet_atlanta', ('background', 'building'),
                      ('building',)),
          'brazil': ('brazil_buildings', ('background', 'building'),
                     ('building',))}
# the synthetic runs a rule may read (run folder: name)
CANDIDATES = {'alpha_0.4': 'alpha_0.4',
              'alpha_0.4_class_filter': 'alpha_0.4_filter',
              'alpha_0.4_class_filter_val': 'alpha_0.4_filter_val',
              'alpha_0.4_weak_classes': 'alpha_0.4_weak',
              'alpha_0.4_share_guidance_0.5_t150': 'alpha_0.4_share',
              'alpha_0.4_masks_one_hot_numeric_ce_only': 'alpha_0.4_onehot',
              'alpha_0.2': 'alpha_0.2'}
RUNS = dict({'alpha_0': 'real', 'oversample40': 'oversample40'},
            **CANDIDATES)
LABELS = {'real': 'real only', 'oversample40': 'oversampling 40%',
          'alpha_0.4': 'alpha 0.4', 'alpha_0.4_filter': 'alpha 0.4 + filter',
          'alpha_0.4_filter_val': 'alpha 0.4 + filter (val means)',
          'alpha_0.4_weak': 'alpha 0.4, weak classes',
          'alpha_0.4_share': 'alpha 0.4, share guidance',
          'alpha_0.4_onehot': 'alpha 0.4, one-hot stage 1',
          'alpha_0.2': 'alpha 0.2'}
# the filtered sets' suffixes (their ignored shares are read where made)
FILTERS = {'alpha_0.4_filter': 'class_filter',
           'alpha_0.4_filter_val': 'class_filter_val'}


def mean(value):
    """A demo metric of a ``--seeds`` run (``{'mean', 'std'}``) or of one
    seed (a number)."""
    return value['mean'] if isinstance(value, dict) else value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dir', help='the demo work dir')
    parser.add_argument('--out', default=osp.join(HERE, 'verdict.json'))
    parser.add_argument('--scene', choices=sorted(SCENES), default='raleigh',
                        help='the scene of the work dir (another than '
                        'raleigh reads a rule over the segmentors alone: '
                        'give --candidates)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2],
                        help='the segmentor seeds read (others are left '
                        'out)')
    parser.add_argument('--candidates', nargs='+',
                        choices=list(CANDIDATES.values()),
                        help='the synthetic runs val picks among (default: '
                        'alpha_0.4 and, where there is one, alpha_0.4_filter)')
    args = parser.parse_args()
    if (args.candidates or args.seeds != [0, 1, 2]) and args.out == \
            osp.join(HERE, 'verdict.json'):
        parser.error('--candidates or other --seeds read another rule: '
                     'give --out, so the nothing-tuned verdict.json stays')
    if args.scene != 'raleigh' and not args.candidates:
        parser.error(f'--scene {args.scene} reads the segmentors alone: '
                     'give --candidates')
    dataset, classes, rare = SCENES[args.scene]
    work, seeds = args.work_dir, sorted(args.seeds)
    keys = ['mIoU'] + [f'IoU.{c}' for c in classes]
    runs = {}
    for name, per_seed in runs_by_seed(work).items():
        per_seed = {s: v for s, v in per_seed.items() if s in seeds}
        if name in RUNS and per_seed:
            runs[RUNS[name]] = summarise(per_seed, keys)
    needed = ('real', 'oversample40') + tuple(
        args.candidates or ('alpha_0.4',))
    optional = () if args.candidates else ('alpha_0.4_filter',)
    optional = tuple(r for r in optional if r in runs)
    short = {r: runs[r]['seeds'] if r in runs else 'missing'
             for r in needed + optional
             if runs.get(r, {}).get('seeds') != seeds}
    if short:
        raise SystemExit(
            f'the rule reads segmentor seeds {seeds} of '
            f'{", ".join(needed + optional)}; in {work}: '
            + ', '.join(f'{r}: {v}' for r, v in short.items())
            + f' (run tools/demo.py --dataset {dataset} --seeds 3, or '
            'real_atlanta_labels_fixed/segmentor_seeds.py for more seeds, '
            'there to finish them)')
    shown = [r for r in LABELS if r in needed + optional and r in runs]
    print('\n'.join(side_by_side({LABELS[r]: runs[r] for r in shown}, keys,
                                 f'seeds {", ".join(map(str, seeds))}')))
    candidates = [r for r in needed + optional if r in runs
                  and r in CANDIDATES.values()]
    candidate = max(candidates,
                    key=lambda r: runs[r]['val']['mIoU']['mean'])
    verdict = dict(seeds=seeds, candidate=candidate, **issue_bar(
        runs, candidate, ['real', 'oversample40'], rare))
    if args.candidates:  # a rule over the segmentors alone
        # every arm read, mean and std per metric (the rule's own
        # predictions are read from these)
        verdict['arms'] = {r: {split: {k: dict(mean=v['mean'], std=v['std'])
                                       for k, v in runs[r][split].items()}
                               for split in ('val', 'test')} for r in shown}
        if args.candidates == ['alpha_0.2']:  # alpha02_rule.md's
            agriculture = runs[candidate]['test']['IoU.agriculture'][
                'per_seed']
            verdict['prediction_candidate_test_agriculture_IoU_above_0'] = \
                dict(per_seed=agriculture,
                     held=all(v > 0 for v in agriculture))
        ignored = {run: filter_shares(work, suffix)
                   for run, suffix in FILTERS.items()
                   if run in args.candidates}
        if ignored:
            verdict['filter_ignored_share'] = ignored
        write_verdict(args.out, verdict)
        return
    metrics = load(osp.join(work, 'metrics.json'))
    cpe = {name: mean(v['mCPE']) for name, v in metrics['mask_cpe'].items()}
    blind = mean(metrics['share_baselines']['prompt_blind']['mCPE'])
    shipped = 'numeric, CE only'
    verdict['stage1_test_mCPE'] = dict(
        cpe, prompt_blind=blind,
        shipped_below_prompt_blind=cpe[shipped] < blind)
    consistency = metrics['consistency']
    verdict['stage2_real_test_masks'] = dict(
        fraction=mean(consistency['real_masks_consistency_fraction']),
        mIoU=mean(consistency['real_masks_consistency_mIoU']),
        real_images_mIoU=mean(consistency['real_images_mIoU']),
        target_0_7=mean(consistency['real_masks_consistency_fraction'])
        >= 0.7)
    ignored = filter_shares(work)
    if ignored is not None:  # per class, the share the filter ignored
        verdict['class_filter_ignored_share'] = ignored
    real = {c: runs['real']['test'][f'IoU.{c}']['mean'] for c in CLASSES}
    verdict['prediction_real_only_test_IoU_lowest_on_agriculture'] = dict(
        real, held=min(real, key=real.get) == 'agriculture')
    write_verdict(args.out, verdict)


if __name__ == '__main__':
    main()
