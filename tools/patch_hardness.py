"""Measure how hard each real patch is for a segmentor: its mean
cross-entropy of the patch's labels, written as the draw weights of
hardness-aware sampling (``synthesis.shares.patch_hardness``).

A segmentor has fitted the patches it trained on, so score each patch with
one that did not: train two real-only segmentors on two halves of the
train patches and score each half with the other's (``--ids``); the second
call adds to the same ``--out``.

Examples::

    python tools/patch_hardness.py CONFIG CHECKPOINT --real data/scene \\
        --out data/scene/hardness.json
    python tools/patch_hardness.py CONFIG fold_a.pth --real data/scene \\
        --ids half_b.txt --out data/scene/hardness.json
    python tools/patch_hardness.py CONFIG fold_a.pth --real data/scene \\
        --ids half_b.txt --classes background --out background.json
"""
import argparse
import os.path as osp

import dldm_mmseg  # noqa: F401
from dldm_mmseg.evaluation.consistency import ConsistencyChecker
from dldm_mmseg.evaluation.hardness import (captioned_pairs, measure_name,
                                            patch_hardness, write_hardness)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help="the segmentor's mmseg config")
    parser.add_argument('checkpoint', help='its weights')
    parser.add_argument('--real', required=True,
                        help='the real data root whose captions the '
                        'synthesis draws from (tools/caption.py)')
    parser.add_argument('--captions', default='captions.jsonl',
                        help='captions file in --real (default '
                        'captions.jsonl)')
    parser.add_argument('--ids', help='a file of patch ids, one per line: '
                        'score only these (the ones the segmentor did not '
                        'train on)')
    parser.add_argument('--out', required=True,
                        help='hardness JSON; an existing one keeps its '
                        'other patches')
    parser.add_argument('--classes', nargs='+', metavar='CLASS',
                        help="only these classes' pixels count (e.g. the "
                        'background a segmentor calls building); names of '
                        "the segmentor's classes")
    parser.add_argument('--no-reduce-zero-label', action='store_true',
                        help='label files hold train ids as they are')
    parser.add_argument('--device', help='torch device (default: cuda if '
                        'available)')
    args = parser.parse_args(argv)
    ids = None
    if args.ids:
        with open(args.ids, encoding='utf-8') as f:
            ids = [line.strip() for line in f if line.strip()]
    captions = osp.join(args.real, args.captions)
    pairs = captioned_pairs(args.real, captions, ids)
    checker = ConsistencyChecker(
        args.config, args.checkpoint, device=args.device,
        reduce_zero_label=not args.no_reduce_zero_label)
    names = checker.class_names
    unknown = sorted(set(args.classes or []) - set(names))
    if unknown:
        known = ', '.join(names) or 'its checkpoint names none'
        raise SystemExit(f'--classes {unknown}: not classes of '
                         f'{args.checkpoint} ({known})')
    # in class order, once each: one measure however the names are listed
    counted = sorted({names.index(c) for c in args.classes or []})
    hardness = patch_hardness(checker, pairs, counted or None)
    record = write_hardness(args.out, hardness, args.real, captions,
                            measure_name([names[i] for i in counted]),
                            config=args.config,
                            checkpoint=args.checkpoint, ids=args.ids)
    made = record['made_by'][-1]
    print(f'{args.out}: {made["patches"]} patches scored (mean '
          f'{made["mean"]:.4f}; {made["zero"]} at 0, never drawn), '
          f'{len(record["hardness"])} in all')
    return record


if __name__ == '__main__':
    main()
