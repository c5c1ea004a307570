"""Analyse a synthetic set: mCPE from its manifest, class-share
distributions real vs synthetic (the paper's Fig. 12/13), a sample grid,
and optionally FID against the real images.

Example::

    python tools/analyze.py data/potsdam_syn --real data/potsdam --fid
"""
import argparse
import json
import os.path as osp

import dldm_mmseg  # noqa: F401
from dldm_mmseg.experiments.analysis import (filtered_shares,
                                             manifest_shares,
                                             plot_share_distributions,
                                             sample_grid, set_mcpe,
                                             share_excess)
from dldm_mmseg.datasets.synth_layout import ANN_DIR, IMG_DIR, MANIFEST
from dldm_mmseg.datasets.captioning import load_captions
from dldm_mmseg.utils.source_dataset import (
    add_source_dataset_args, source_dataset_defaults,
    source_dataset_from_args)
from dldm_mmseg.utils.io import atomic_open, read_jsonl


def check_complete_set(syn_dir: str) -> None:
    """Refuse a folder that is not a finished synthetic set: no manifest,
    or manifest entries whose image or mask is missing (the counts and
    figures would describe a set that is not there)."""
    manifest = osp.join(syn_dir, MANIFEST)
    if not osp.isfile(manifest):
        raise FileNotFoundError(
            f'{manifest} does not exist: {syn_dir} is not a finished '
            'synthetic set; build or complete it with `python '
            f'tools/synthesize.py CONFIG --out {syn_dir} --num N`')
    missing = [osp.join(syn_dir, sub, f'{r["id"]}.png')
               for r in read_jsonl(manifest) for sub in (IMG_DIR, ANN_DIR)
               if not osp.isfile(osp.join(syn_dir, sub, f'{r["id"]}.png'))]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} file(s) listed in {manifest} are missing, e.g. '
            f'{missing[:3]}; run `python tools/synthesize.py CONFIG --out '
            f'{syn_dir} --num N` again (the same --out remakes them)')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('syn_dir', help='synthetic set (manifest.jsonl)')
    parser.add_argument('--real', required=True,
                        help='real dataset root with captions.jsonl')
    add_source_dataset_args(parser)
    parser.add_argument('--out', help='output folder (default: '
                        '<syn_dir>/analysis)')
    parser.add_argument('--grid', type=int, default=8,
                        help='samples in the grid')
    parser.add_argument('--fid', action='store_true',
                        help='also compute FID against the real images '
                        '(needs --inception)')
    parser.add_argument('--inception', help='local Inception weights file '
                        'for FID (pt_inception-2015-12-05, as TF-FID)')
    parser.add_argument('--real-images', help='real image folder for FID '
                        '(default: <real>/img_dir/train)')
    parser.add_argument('--ref-config', help='reference segmentor config '
                        'for mask-image consistency (mIoU on synthetic '
                        'images against their masks)')
    parser.add_argument('--ref-checkpoint', help='checkpoint of the '
                        '--ref-config segmentor (e.g. an alpha = 0 run)')
    parser.add_argument('--excess-threshold', type=float, default=3.0,
                        help='flag a class whose mean share over the set '
                        'exceeds its mean target by more than this many '
                        'points (default: 3)')
    args = parser.parse_args(argv)
    source = source_dataset_defaults(source_dataset_from_args(args))
    classes = source['metainfo']['classes']
    out = args.out or osp.join(args.syn_dir, 'analysis')
    check_complete_set(args.syn_dir)
    shares = manifest_shares(args.syn_dir, classes)
    real = load_captions(osp.join(args.real, 'captions.jsonl'), classes)
    import numpy as np
    real_shares = np.stack([r['shares_array'] for r in real.values()])
    summary = dict(num_synthetic=len(shares['ids']), num_real=len(real))
    summary.update(set_mcpe(args.syn_dir, classes))
    summary['mean_share_real'] = dict(zip(classes,
                                          real_shares.mean(0).round(4)
                                          .tolist()))
    summary['mean_share_synthetic'] = dict(zip(
        classes, shares['measured'].mean(0).round(4).tolist()))
    excess = share_excess(shares['measured'], shares['target'], classes,
                          args.excess_threshold)
    summary['share_excess'] = excess['share_excess']
    summary['consistency_filter'] = filtered_shares(
        args.syn_dir, classes, source['reduce_zero_label'])
    summary['flagged_classes'] = excess['flagged']
    plot_share_distributions(real_shares, shares['measured'], classes,
                             osp.join(out, 'class_shares.png'),
                             target=shares['target'])
    sample_grid(args.syn_dir, shares['ids'][:args.grid],
                source['metainfo']['palette'],
                osp.join(out, 'samples.png'), source['reduce_zero_label'],
                classes=classes, real_images={
                    k: osp.join(args.real, r['img_path'])
                    for k, r in real.items() if 'img_path' in r})
    if args.fid:
        from dldm_mmseg.evaluation.fid import fid_between_folders
        summary['FID'] = fid_between_folders(
            args.real_images or osp.join(args.real, 'img_dir', 'train'),
            osp.join(args.syn_dir, IMG_DIR), args.inception)
    if args.ref_config:
        from dldm_mmseg.experiments.analysis import consistency_miou
        from dldm_mmseg.evaluation.consistency import ConsistencyChecker
        checker = ConsistencyChecker(args.ref_config, args.ref_checkpoint)
        summary.update(consistency_miou(args.syn_dir, checker, shares['ids'],
                                        classes, source['reduce_zero_label']))
    with atomic_open(osp.join(out, 'summary.json')) as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary, indent=2))
    if excess['flagged']:
        print('WARNING: the masks hold more of ' + ', '.join(
            f'{c} (+{excess["share_excess"][c]:.1f} points)'
            for c in excess['flagged']) + ' than their prompts ask for, '
            'across the set. If such a class\'s colour lies between two '
            'others\', the mask VAE turns their borders into it: see its '
            'round trip (tools/fit_vae.py prints it) and try '
            "quantisation=dict(type='neighbourhood') in the mask "
            'generator\'s config')
    print(f'plots and summary in {out}')
    return summary


if __name__ == '__main__':
    main()
