"""The default stage-1 variant, chosen on the val splits of both demo sets
(toy scenes and SpaceNet Atlanta, 3 seeds each) from the committed
results, and the table of every variant (val, test)::

    python docs/results/stage1_choice/choose.py \
        --out docs/results/stage1_choice/choice.md

The rule (fixed before the last variants were measured): the lowest mean,
over the two sets, of val mCPE / that set's prompt-blind val mCPE (the
share of a prompt-blind generator's error a variant leaves). A variant
not measured on both sets is listed but not ranked.
"""
import argparse
import json
import os.path as osp

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
RESULTS = osp.dirname(HERE)
# the demo's model names and the L_prop-0.1 runs' names, as the table
# names them
VARIANTS = {'text, CE + L_prop 0.5 (the paper)': ('with L_prop', None),
            'text, CE only': ('CE only', None),
            'text, CE + L_prop 0.1': (None, 'text, L_prop 0.1'),
            'numeric + text, CE only': ('numeric, CE only', None),
            'numeric + text, CE + L_prop 0.5': ('numeric, with L_prop',
                                                None),
            'numeric + text, CE + L_prop 0.1': (
                None, 'numeric + text, L_prop 0.1')}
SETS = {'toy': ('stage1_toy_seeds3/stage1.json',
                'stage1_toy_seeds3/lprop01.json'),
        'SpaceNet Atlanta': ('numeric_shares_atlanta_seeds3/metrics.json',
                             'lprop_atlanta/mcpe.json')}


def load(path):
    with open(osp.join(RESULTS, path), encoding='utf-8') as f:
        return json.load(f)


def variant_runs(demo: dict, extra: dict, names) -> dict:
    """Per-seed val and test mCPE of a variant, or None where not run."""
    demo_name, extra_name = names
    if demo_name is not None:
        if demo_name not in demo['mask_cpe']:
            return None
        per_seed = demo['per_seed']
        return {split: [run[demo_name]['mCPE'] for run in per_seed[key]]
                for split, key in (('test', 'mask_cpe'),
                                   ('val', 'mask_cpe_val'))}
    if extra_name not in extra or len(extra[extra_name]) < 3:
        return None
    seeds = sorted(extra[extra_name], key=int)
    return {split: [extra[extra_name][s][split]['mCPE'] for s in seeds]
            for split in ('test', 'val')}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', help='write the table here (Markdown)')
    args = parser.parse_args()
    table, blind = {}, {}
    for set_name, (demo_file, extra_file) in SETS.items():
        demo = load(demo_file)
        extra = load(extra_file) if osp.isfile(
            osp.join(RESULTS, extra_file)) else {}
        blind[set_name] = {
            'val': demo['mask_cpe_val']['baselines']['prompt_blind']['mCPE'],
            'test': demo['share_baselines']['prompt_blind']['mCPE']}
        for variant, names in VARIANTS.items():
            table.setdefault(variant, {})[set_name] = variant_runs(
                demo, extra, names)
    scores = {v: np.mean([np.mean(runs[s]['val']) / blind[s]['val']
                          for s in SETS])
              for v, runs in table.items()
              if all(runs[s] for s in SETS)}
    best = min(scores, key=scores.get)

    def cell(runs, split):
        if not runs:
            return 'not run'
        values = runs[split]
        return f'{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}'

    head = ' | '.join(f'{s}: val | {s}: test' for s in SETS)
    lines = [f'| variant | {head} | score (val / blind, mean of sets) |',
             '| --- |' + ' --- | --- |' * len(SETS) + ' --- |',
             '| prompt-blind baseline | ' + ' | '.join(
                 f'{blind[s]["val"]:.2f} | {blind[s]["test"]:.2f}'
                 for s in SETS) + ' | 1 |']
    for variant, runs in table.items():
        score = f'{scores[variant]:.3f}' if variant in scores else \
            'not ranked'
        name = f'**{variant}**' if variant == best else variant
        lines.append(f'| {name} | ' + ' | '.join(
            f'{cell(runs[s], "val")} | {cell(runs[s], "test")}'
            for s in SETS) + f' | {score} |')
    text = '\n'.join(lines) + f'\n\nChosen by the rule: **{best}**.\n'
    print(text)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(text)


if __name__ == '__main__':
    main()
