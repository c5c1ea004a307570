"""The sentences and verdict rows of the demo report."""
import json
import os.path as osp
from typing import Optional, Sequence

from dldm_mmseg.experiments.demo.weights import folder_records


def val_cpe_text(val_cpe: Optional[dict]) -> str:
    """The stage-1 mCPE of each model on the val scenes, what a stage-1
    default is chosen by, beside the prompt-blind baseline there."""
    if not val_cpe:
        return ''
    mean, std = val_cpe['mean'], val_cpe['std']
    rows = '\n'.join(
        f'| {name} | {mean[name]["mCPE"]:.2f}'
        + (f' ± {std[name]["mCPE"]:.2f}' if std else '') + ' |'
        for name in mean)
    blind = val_cpe['baselines']['prompt_blind']['mCPE']
    return (f'\nOn the val scenes (what a stage-1 default is chosen by; the '
            f'prompt-blind baseline scores {blind:.2f} there):\n\n'
            f'| model | val mCPE |\n|---|---|\n{rows}\n')


def spread_text(results: dict, spread: Optional[dict],
                reference: Optional[str],
                target_classes: Sequence[str], root: str = '.') -> str:
    """For a single-seed run: which of its differences between segmentors
    lie inside the seed spread of the committed ``--seeds 3`` run (the
    larger std of the two rows compared, on the test split)."""
    if spread:
        return ''
    if not reference or not osp.isfile(reference):
        return ('No multi-seed run is on record to read these differences '
                'by: run `--seeds 3`.')
    with open(reference, encoding='utf-8') as f:
        theirs = json.load(f)
    if theirs.get('split') != 'test' or not theirs.get('per_seed'):
        where = osp.relpath(reference, root)
        return (f'The multi-seed run on record (`{where}`) was not scored '
                'on the test split: run `--seeds 3`.')
    std = theirs['segmentation']
    parts = []
    for a, b in (('alpha = 0.4', 'alpha = 0'),
                 ('alpha = 0.4', 'oversampling 40%')):
        if a not in results or b not in results or a not in std or \
                b not in std:
            continue
        for key in ['mIoU'] + [f'IoU.{c}' for c in target_classes]:
            diff = results[a][key] - results[b][key]
            bound = max(std[a][key]['std'], std[b][key]['std'])
            where = 'inside' if abs(diff) <= bound else 'outside'
            parts.append(f'{a} - {b}, {key}: {diff:+.2f} ({where} '
                         f'{bound:.2f})')
    return ('Differences of this single seed against the larger std of the '
            f'two rows over the {len(theirs["seeds"])} seeds of '
            f'`{osp.relpath(reference, root)}`: ' + '; '.join(parts)
            + '. A difference inside the spread is not a result.')


def made_dates(info: dict) -> str:
    """When the folders of the shipped weights were made: one day, or the
    first and the last where a ``--make-weights`` kept what was current
    and remade the rest."""
    days = sorted({record['made'][:10]
                   for record in folder_records(info).values()}
                  or {info['made'][:10]})
    if len(days) == 1:
        return f'on {days[0]}'
    return f'on {days[0]} (in part remade on {days[-1]})'


def extra_seeds_text(demo) -> str:
    """Whether the stage-1 models not taken from the shipped weights
    (the seeds beyond ``--seed``, the variants not shipped, and a shipped
    one whose config changed since) trained in this invocation or were
    found in the work dir."""
    extra = [osp.basename(demo.run_dir(config, seed))
             for seed in demo.seeds for config in demo.mask_configs.values()
             if not demo.is_shipped(config, seed)]
    found = [name for name in extra if name in demo.generators_found]
    if not extra:
        return ''
    if not found:
        return ' Stage 1 for the other seeds and variants was trained now.'
    return (f' Stage 1 for the other seeds and variants was found in this '
            f'work dir (made before this invocation) for {", ".join(found)}'
            + ('' if len(found) == len(extra) else
               '; the others were trained now') + '.')


def steering_text(synth: dict) -> str:
    """How the synthesis config steered masks toward their shares, in
    words for the report."""
    parts = []
    guide = (synth.get('mask_sampling') or {}).get('prop_guidance') or {}
    if guide.get('scale'):
        parts.append(f'with proportion guidance (scale {guide["scale"]:g} '
                     f'at t <= {guide.get("max_timestep", 400)})')
    reject = synth.get('reject') or {}
    if reject.get('max_cpe') is not None:
        parts.append(f'after proportion enforcement (masks more than '
                     f'{reject["max_cpe"]:g} points off redrawn, best of '
                     f'{reject.get("max_tries", 3)})')
    return ' and '.join(parts) or 'as drawn'


def target_rows(results: dict, cpe: dict, set_cpe: dict,
                consistency: Optional[dict], spread: Optional[dict],
                baselines: Optional[dict] = None,
                target_classes: Sequence[str] = ('car', 'clutter')) -> str:
    """Markdown rows: each target the demo is meant to meet, what this run
    measured, and whether it is met (with seeds, on the means; a
    comparison is met only by more than one standard deviation where that
    is the target)."""
    rows = []

    def row(target, measured, met):
        verdict = 'n/a' if met is None else ('met' if met else '**missed**')
        rows.append(f'| {target} | {measured} | {verdict} |')

    if consistency is not None:
        # the real-only segmentor's mIoU on the synthetic images, as a
        # fraction of its mIoU on the real test images
        for key, where in (('consistency', 'the synthetic set'),
                           ('real_masks_consistency',
                            'images painted for real test masks')):
            value = consistency.get(f'{key}_mIoU')
            fraction = consistency.get(f'{key}_fraction')
            if value is not None:
                row(f'mask-image consistency on {where} >= 0.7 of the '
                    "real test images' mIoU", f'{value:.2f}%' + (
                        f' ({fraction:.2f} of '
                        f'{consistency["real_images_mIoU"]:.2f}%)'
                        if fraction is not None else ''),
                    None if fraction is None else fraction >= 0.7)
    with_prop, ce_only = cpe['with L_prop']['mCPE'], cpe['CE only']['mCPE']
    row('stage-1 mCPE with L_prop <= 6', f'{with_prop:.2f}', with_prop <= 6)
    if baselines:
        bar = min(b['mCPE'] for b in baselines.values())
        row('stage-1 mCPE (both models) below both prompt-ignoring '
            'baselines', f'{with_prop:.2f} and {ce_only:.2f} vs '
            + ' and '.join(f'{b["mCPE"]:.2f}' for b in baselines.values()),
            max(with_prop, ce_only) < bar)
    if spread:
        std = spread['mask_cpe']['with L_prop']['mCPE']
        ce_std = spread['mask_cpe']['CE only']['mCPE']
        row('L_prop lowers stage-1 mCPE by more than one std',
            f'{with_prop:.2f} ± {std:.2f} vs CE only {ce_only:.2f} ± '
            f'{ce_std:.2f}', ce_only - with_prop > max(std, ce_std))
    else:
        row('L_prop lowers stage-1 mCPE by more than one std',
            f'{with_prop:.2f} vs CE only {ce_only:.2f} (one seed)', None)
    row('synthetic set mCPE <= 4', f'{set_cpe["mCPE"]:.2f}',
        set_cpe['mCPE'] <= 4)
    real, syn = results.get('alpha = 0'), results.get('alpha = 0.4')
    over = results.get('oversampling 40%')
    if real and syn:
        gains = {c: syn[f'IoU.{c}'] - real[f'IoU.{c}']
                 for c in target_classes}
        row(f'alpha = 0.4 raises {" and ".join(target_classes)} IoU by >= 2 '
            'points',
            ', '.join(f'{c} {g:+.2f}' for c, g in gains.items()),
            all(g >= 2 for g in gains.values()))
        if over:
            beats = [c for c in target_classes
                     if syn[f'IoU.{c}'] > over[f'IoU.{c}']]
            row('alpha = 0.4 beats oversampling on '
                f'{" or ".join(target_classes)}',
                ', '.join(f'{c} {syn[f"IoU.{c}"]:.2f} vs '
                          f'{over[f"IoU.{c}"]:.2f}' for c in
                          target_classes), bool(beats))
    return '\n'.join(rows)
