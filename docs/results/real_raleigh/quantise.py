"""Nearest colour against neighbourhood quantisation for the Raleigh
stage-1 model synthesis uses (``recipe_rule.md``): the model's test loop
on the val and test tiles' shares, for each seed's export in a demo work
dir, under each quantiser. Writes ``quantise.json``: mCPE and per-class
CPE per quantiser, split and seed (``runs``), the rule's pick on val and
its prediction::

    DLDM_DEMO_DIR=$(realpath work_dirs/demo_raleigh_landsat) python \\
        docs/results/real_raleigh/quantise.py work_dirs/demo_raleigh_landsat \\
        --seeds 0 1 2

Each test is reused by its config and export (an interrupted run
resumes).
"""
import argparse
import json
import os.path as osp
import statistics

import dldm_mmseg  # noqa: F401
from dldm_mmseg.experiments.demo.measures import score_mask_export
from dldm_mmseg.experiments.demo_datasets import CAPTIONS
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
CONFIG = osp.join(HERE, '..', '..', '..', 'configs', 'demo', 'raleigh',
                  'mask_small_raleigh_numeric_ce_only.py')
QUANTISERS = dict(nearest=dict(type='nearest'),
                  neighbourhood=dict(type='neighbourhood', window=5,
                                     confident=0.25))
# the rule's margin: neighbourhood is picked if its mean val mCPE is at
# least this much below nearest colour's
MARGIN = 0.5


def mean_std(values):
    """Mean and std (ddof 1; 0 for one value)."""
    return statistics.mean(values), (statistics.stdev(values)
                                     if len(values) > 1 else 0.0)


def reading(results: dict) -> dict:
    """The rule's pick on val and its prediction (shrubland's val share
    error falls), from the runs."""
    val = {name: [r['mCPE'] for r in results[name]['val'].values()]
           for name in QUANTISERS}
    shrubland = {name: statistics.mean(
        r['CPE.shrubland'] for r in results[name]['val'].values())
        for name in QUANTISERS}
    gain = statistics.mean(val['nearest']) - statistics.mean(
        val['neighbourhood'])
    return dict(
        val_mCPE_gain=gain, margin=MARGIN,
        pick='neighbourhood' if gain >= MARGIN else 'nearest',
        prediction_val_shrubland_CPE_falls=dict(
            shrubland, held=shrubland['neighbourhood']
            < shrubland['nearest']))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('demo', help='a Raleigh demo work dir (--seeds 3)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--out', default=osp.join(HERE, 'quantise.json'))
    args = parser.parse_args()
    speed_up_configs()
    with open(osp.join(args.demo, 'demo_settings.json')) as f:
        demo_seed = json.load(f)['seed']  # its runs have no seed suffix
    results = {}
    for seed in args.seeds:
        run = osp.join(args.demo, osp.splitext(osp.basename(CONFIG))[0]
                       + ('' if seed == demo_seed else f'_seed{seed}'))
        export = osp.join(run, 'export', 'final')
        for split in ('val', 'test'):
            for name, quantiser in QUANTISERS.items():
                # _delete_: the config's own quantiser's options are not
                # merged into this one's
                options = {'test_dataloader.dataset.captions':
                           CAPTIONS[split], 'model.quantisation': dict(
                               quantiser, _delete_=True)}
                results.setdefault(name, {}).setdefault(split, {})[
                    str(seed)] = score_mask_export(
                        CONFIG, options, export,
                        osp.join(run, f'quantise_{name}_{split}'),
                        f'quantise_{name}_{split}_{seed}', args.steps)
    for split in ('val', 'test'):
        for name in QUANTISERS:
            runs = list(results[name][split].values())
            mcpe = mean_std([r['mCPE'] for r in runs])
            shrub = statistics.mean(r['CPE.shrubland'] for r in runs)
            print(f'{split:4s} {name:13s} mCPE {mcpe[0]:6.2f} +- '
                  f'{mcpe[1]:5.2f}  shrubland CPE {shrub:6.2f}')
    summary = dict(seeds=args.seeds, runs=results, **reading(results))
    print(json.dumps({k: v for k, v in summary.items() if k != 'runs'}))
    with atomic_open(args.out) as f:
        json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
