"""Seconds per synthetic image/mask pair: our engine vs the plain approach.

* plain: stock diffusers ``StableDiffusionPipeline`` (+ ``load_lora_weights``)
  and ``StableDiffusionControlNetPipeline``, called one sample at a time with
  their defaults (50 steps, SD 1.5's PNDM scheduler, fp32), PNGs saved in
  the loop;
* ours: ``SynthesisEngine`` (DPM-Solver++ 20 steps, batched, text
  embeddings once per prompt, half precision on GPUs, channels_last, files
  written while the next batch computes), in its fast batched mode and in
  its deterministic mode (networks one sample at a time).

Both use the same generators (random weights of a preset, exported to
diffusers format first) and run side by side in one process. Targets on an
H100 with ``--preset sd15 --size 512``: under 0.3 s per pair and at least 5x
the plain approach. On a CPU the ``tiny`` default keeps the script working;
report its ratio.

Example::

    python bench/synthesis_speed.py                       # CPU, tiny
    python bench/synthesis_speed.py --preset sd15 --size 512 --num 32
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import dldm_mmseg  # noqa: E402,F401
from mmengine.registry import init_default_scope  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402
from dldm_mmseg.apis.synthesis import SynthesisEngine  # noqa: E402
from dldm_mmseg.utils.palette import index_to_rgb  # noqa: E402


def build_generators(preset: str, folder: str):
    models = {}
    for name, cfg in (('mask', dict(type='LoRAMaskGenerator', lora_rank=32)),
                      ('image', dict(type='ControlNetImageGenerator'))):
        model = MODELS.build(dict(cfg, components=dict(preset=preset)))
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for p in model.trainable_parameters().values():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.02)
        model.export(osp.join(folder, name))
        models[name] = model
    return models


def plain_pipelines(preset: str, folder: str, device):
    from diffusers import (ControlNetModel, PNDMScheduler,
                           StableDiffusionControlNetPipeline,
                           StableDiffusionPipeline)
    from dldm_mmseg.models.generators import build_sd_components
    parts = build_sd_components(preset=preset)
    scheduler = PNDMScheduler.from_config(parts.scheduler.config,
                                          skip_prk_steps=True)
    common = dict(vae=parts.vae, text_encoder=parts.text_encoder,
                  tokenizer=parts.tokenizer, unet=parts.unet,
                  scheduler=scheduler, safety_checker=None,
                  feature_extractor=None, requires_safety_checker=False)
    mask_pipe = StableDiffusionPipeline(**common).to(device)
    mask_pipe.load_lora_weights(osp.join(folder, 'mask'))
    image_parts = build_sd_components(preset=preset)
    image_pipe = StableDiffusionControlNetPipeline(
        vae=image_parts.vae, text_encoder=image_parts.text_encoder,
        tokenizer=image_parts.tokenizer, unet=image_parts.unet,
        controlnet=ControlNetModel.from_pretrained(osp.join(folder, 'image')),
        scheduler=scheduler, safety_checker=None, feature_extractor=None,
        requires_safety_checker=False).to(device)
    for pipe in (mask_pipe, image_pipe):
        pipe.set_progress_bar_config(disable=True)
    return mask_pipe, image_pipe


def run_plain(pipes, prompts, size, out_dir, palette):
    from dldm_mmseg.utils.palette import nearest_palette_index
    mask_pipe, image_pipe = pipes
    start = time.perf_counter()
    for i, prompt in enumerate(prompts):
        generator = torch.Generator().manual_seed(i)
        mask = mask_pipe(prompt, height=size, width=size,
                         generator=generator).images[0]
        labels = nearest_palette_index(np.asarray(mask), palette)
        control = index_to_rgb(labels, palette)
        from PIL import Image
        image = image_pipe(prompt, image=Image.fromarray(control),
                           height=size, width=size,
                           generator=torch.Generator().manual_seed(i)
                           ).images[0]
        Image.fromarray(labels).save(osp.join(out_dir, f'{i}_mask.png'))
        image.save(osp.join(out_dir, f'{i}.png'))
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / len(prompts)


def run_ours(models, real_captions, num, size, batch, deterministic,
             out_dir, device):
    cfg = dict(
        source_dataset='PotsdamDataset', shares=dict(
            mode='fixed', fixed_shares=[.3, .25, .2, .15, .05, .05]),
        size=size, base_seed=0, batch_size=batch,
        mask_sampling=dict(steps=20), image_sampling=dict(steps=20),
        deterministic=deterministic)
    engine = SynthesisEngine(cfg, device=device, mask_model=models['mask'],
                             image_model=models['image'])
    result = engine.run(num, out_dir, progress=False)
    return result['seconds'] / num


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--preset', default='tiny',
                        choices=['tiny', 'small', 'sd15'])
    parser.add_argument('--size', type=int, default=32)
    parser.add_argument('--num', type=int, default=16)
    parser.add_argument('--plain-num', type=int, default=4,
                        help='samples for the (slow) plain approach')
    parser.add_argument('--batch-size', type=int, default=8)
    args = parser.parse_args(argv)
    init_default_scope('mmseg')
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    with tempfile.TemporaryDirectory() as folder:
        models = build_generators(args.preset, folder)
        palette = models['mask'].palette
        pipes = plain_pipelines(args.preset, folder, device)
        prompts = ['impervious surface: 30%, building: 25%, low vegetation: '
                   '20%, tree: 15%, car: 5%, clutter: 5%'] * args.plain_num
        import os
        os.makedirs(osp.join(folder, 'plain'))
        run_plain(pipes, prompts[:1], args.size, osp.join(folder, 'plain'),
                  palette)  # warm-up
        plain = run_plain(pipes, prompts, args.size,
                          osp.join(folder, 'plain'), palette)
        del pipes
        run_ours(models, None, 2, args.size, args.batch_size, False,
                 osp.join(folder, 'warm'), device)
        fast = run_ours(models, None, args.num, args.size, args.batch_size,
                        False, osp.join(folder, 'fast'), device)
        exact = run_ours(models, None, args.num, args.size, args.batch_size,
                         True, osp.join(folder, 'exact'), device)
    print(f'device {device}, preset {args.preset}, {args.size}x{args.size}')
    print(f'  plain (stock pipelines, 1 at a time, 50 steps, fp32): '
          f'{plain:.3f} s/pair')
    print(f'  ours, batched (batch {args.batch_size}, 20 steps):      '
          f'{fast:.3f} s/pair  -> {plain / fast:.1f}x')
    print(f'  ours, deterministic (networks 1 at a time):  '
          f'{exact:.3f} s/pair  -> {plain / exact:.1f}x')
    if device == 'cuda' and args.preset == 'sd15':
        print(f'targets: < 0.3 s/pair {"met" if fast < 0.3 else "NOT met"}; '
              f'>= 5x {"met" if plain / fast >= 5 else "NOT met"}')
    return dict(plain=plain, fast=fast, deterministic=exact)


if __name__ == '__main__':
    main()
