"""Segmentor guidance of stage 2: mask-image consistency and seconds per
image for no guidance and each guidance scale, side by side in one run on
the same real masks, prompts and seeds.

Stage 2 (a synth config's image generator) paints an image for each real
mask of a split; a *guide* segmentor (trained on the real set) steers the
first sampling steps, and consistency (mIoU of a segmentor's prediction on
the painted images against their masks) is read by the guide and by a
*judge*: a segmentor trained on the same real set with another seed, which
the guidance never saw, so its reading is not the guide's own. Both are
also given as a fraction of the judge's mIoU on the real images of the
split. The last line printed is one JSON object.

Example (the demo's pretrained stage 2 and the real-only segmentors of
seeds 0 and 1 of a ``--seeds 3`` demo run)::

    W=demo_weights; D=work_dirs/demo
    python bench/segmentor_guidance.py configs/demo/synth_small_toy.py \
        --data $D/data/toy_landcover --guide $D/sweep/alpha_0 \
        --judge $D/sweep_seed1/alpha_0 --scales 0.5 2 --cfg-options \
        synthesis.image_generator.weights=$W/image_controlnet_small_toy \
        synthesis.image_generator.model.components.vae=$W/vae_image
"""
import argparse
import glob
import json
import os.path as osp
import time

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.runner.checkpoint import find_latest_checkpoint

import dldm_mmseg  # noqa: F401
from dldm_mmseg.datasets.mask_caption_dataset import MaskCaptionDataset
from dldm_mmseg.evaluation.consistency import (ConsistencyChecker,
                                               differentiable_logits)
from dldm_mmseg.experiments.analysis import images_consistency
from dldm_mmseg.synthesis.runtime import load_generator
from dldm_mmseg.synthesis.settings import SynthesisSettings
from dldm_mmseg.utils.config import load_run_config
from dldm_mmseg.utils.source_dataset import source_dataset_defaults


def segmentor(run_dir: str) -> ConsistencyChecker:
    """The segmentor of an mmseg run folder (its config and last
    checkpoint)."""
    configs = glob.glob(osp.join(run_dir, '*.py'))
    checkpoint = find_latest_checkpoint(run_dir)
    if len(configs) != 1 or checkpoint is None:
        raise FileNotFoundError(
            f'{run_dir} is not a finished mmseg run (one config .py and a '
            'checkpoint expected), e.g. work_dirs/demo/sweep/alpha_0')
    return ConsistencyChecker(configs[0], checkpoint, device='cpu')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='synth config (its image generator, '
                        'sampling settings and image prompt order)')
    parser.add_argument('--data', required=True,
                        help='the real set (mmseg layout with captions)')
    parser.add_argument('--split', default='test')
    parser.add_argument('--guide', required=True,
                        help='run folder of the guiding segmentor')
    parser.add_argument('--judge', required=True,
                        help='run folder of a segmentor of another seed')
    parser.add_argument('--num', type=int, default=48)
    parser.add_argument('--scales', type=float, nargs='+', default=[1.0])
    parser.add_argument('--timesteps', type=int, nargs=2,
                        default=[600, 1000])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    cfg = load_run_config(args.config, args.cfg_options).synthesis.to_dict()
    settings = SynthesisSettings.from_config(cfg)
    source = source_dataset_defaults(settings.source_dataset)
    classes = source['metainfo']['classes']
    captions = 'captions.jsonl' if args.split == 'train' else \
        f'captions_{args.split}.jsonl'
    data = MaskCaptionDataset(
        data_root=args.data, captions=captions, augment=False,
        source_dataset=settings.source_dataset, load_image=True,
        prompt_order=settings.image_prompt)
    items = [data[i] for i in range(min(args.num, len(data)))]
    masks = np.stack([item['label'].numpy() for item in items])
    prompts = [item['prompt'] for item in items]
    real = [((item['image'].permute(1, 2, 0).numpy() + 1) * 127.5).round()
            .clip(0, 255).astype(np.uint8) for item in items]
    seeds = list(range(1, len(items) + 1))
    model = load_generator(settings.image_generator).eval()
    guide, judge = segmentor(args.guide), segmentor(args.judge)
    sampling = dict(settings.image_sampling.kwargs(),
                    batch_size=args.batch_size)
    judge_real = images_consistency(judge, real, masks, classes)[
        'consistency_mIoU']
    rows = {}
    for scale in [0.0] + list(args.scales):
        guidance = dict(segmentor=differentiable_logits(guide.model),
                        scale=scale, timesteps=tuple(args.timesteps))
        start = time.perf_counter()
        images = model.generate_images(masks, prompts, seeds,
                                       seg_guidance=guidance, **sampling)
        seconds = (time.perf_counter() - start) / len(items)
        row = dict(s_per_image=round(seconds, 4))
        for name, reader in (('guide', guide), ('judge', judge)):
            miou = images_consistency(reader, images, masks, classes)[
                'consistency_mIoU']
            row[f'{name}_mIoU'] = round(miou, 2)
            row[f'{name}_fraction'] = round(miou / judge_real, 3)
        rows[f'scale {scale:g}'] = row
        print(f'scale {scale:g}: {row}', flush=True)
    base = rows['scale 0']
    ratios = {name: dict(time=round(r['s_per_image'] / base['s_per_image'],
                                    2),
                         judge_mIoU_gain=round(r['judge_mIoU'] -
                                               base['judge_mIoU'], 2))
              for name, r in rows.items() if name != 'scale 0'}
    print(json.dumps(dict(num=len(items), split=args.split,
                          timesteps=args.timesteps,
                          judge_mIoU_on_real_images=round(judge_real, 2),
                          rows=rows, ratios_to_no_guidance=ratios)))


if __name__ == '__main__':
    main()
