"""Write captions.jsonl (class shares + caption per patch) for any
mmseg-format dataset.

Examples::

    python tools/caption.py data/potsdam --dataset PotsdamDataset
    python tools/caption.py data/potsdam --dataset PotsdamDataset \
        --vlm checkpoints/Qwen2-VL-2B-Instruct --batch-size 16
    python tools/caption.py data/my_set --config configs/my_set_syn40.py
    python tools/caption.py data/potsdam --dataset PotsdamDataset \
        --appearance
"""
import argparse

import dldm_mmseg  # noqa: F401
from dldm_mmseg.datasets.captioning import (DEFAULT_VLM_PROMPT,
                                            VLMCaptioner, write_captions)
from dldm_mmseg.utils.source_dataset import (
    add_source_dataset_args, source_dataset_defaults,
    source_dataset_from_args)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data_root', help='dataset root (img_dir/, ann_dir/)')
    add_source_dataset_args(parser)
    parser.add_argument('--split', default='train',
                        help='split folder under img_dir/ and ann_dir/ '
                        '(default: train)')
    parser.add_argument('--img-dir', help='default: img_dir/<split>')
    parser.add_argument('--ann-dir', help='default: ann_dir/<split>')
    parser.add_argument('--out', default='captions.jsonl',
                        help='output, relative to data_root')
    parser.add_argument('--vlm', help='local Qwen2-VL-class model folder for '
                        'free-text captions (default: template captions)')
    parser.add_argument('--vlm-prompt', default=DEFAULT_VLM_PROMPT,
                        help='instruction given to the VLM with each image')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='images per VLM batch (default: 8)')
    parser.add_argument('--device', help='torch device for the VLM')
    parser.add_argument('--appearance', action='store_true',
                        help='end each caption with the colour of each '
                        'class in the image ("Dark green background, grey '
                        'buildings.")')
    parser.add_argument('--overwrite', action='store_true',
                        help='recompute a complete captions file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.batch_size <= 0:
        raise ValueError(f'--batch-size must be > 0, got {args.batch_size}')
    source = source_dataset_defaults(source_dataset_from_args(args))
    captioner = VLMCaptioner(args.vlm, args.vlm_prompt, device=args.device) \
        if args.vlm else None
    return write_captions(
        args.data_root, source['metainfo']['classes'],
        source['reduce_zero_label'],
        img_dir=args.img_dir or f'img_dir/{args.split}',
        ann_dir=args.ann_dir or f'ann_dir/{args.split}',
        out_file=args.out, captioner=captioner, batch_size=args.batch_size,
        overwrite=args.overwrite, appearance=args.appearance)


if __name__ == '__main__':
    main()
