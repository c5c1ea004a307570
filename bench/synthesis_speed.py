"""Seconds per synthetic image/mask pair, and where the speed comes from.

Four variants run side by side in one process, on the same generators
(random weights of a preset, exported to diffusers format first):

* ``stock_default``: stock diffusers ``StableDiffusionPipeline``
  (+ ``load_lora_weights``) and ``StableDiffusionControlNetPipeline``, one
  sample at a time, at their defaults (50 PNDM steps, guidance 7.5, fp32),
  PNGs saved in the loop;
* ``stock_same_steps``: the same stock pipelines one at a time, but with our
  scheduler (DPM-Solver++), step count, guidance and dtype: the gain over
  ``stock_default`` is the step count (and precision) alone;
* ``engine_one_at_a_time``: ``SynthesisEngine`` with
  ``batching='one_at_a_time'`` (networks run one sample at a time);
* ``engine_batched``: ``SynthesisEngine`` with ``batching='free'``
  (batches of whatever is left; not reproducible across resumes);
* ``engine_aligned``: ``batching='aligned'``, the default: batched and
  bit-identical across process counts and resumes. Target: within 10% of
  ``engine_batched`` (``aligned_vs_free`` in the JSON).

The gain of the engine over ``stock_same_steps`` is the engineering
(batching, text embeddings once per prompt, files written while the next
batch computes). The last line printed is one JSON object with
``s_per_pair`` of each variant and the ratios. Targets on a GPU with
``--preset sd15 --size 512``: under 0.3 s per pair batched and at least 5x
``stock_default``; on a CPU (the ``tiny`` default) at equal steps the
batched engine at least 4x ``stock_same_steps``.

Example::

    python bench/synthesis_speed.py                       # CPU, tiny
    python bench/synthesis_speed.py --preset sd15 --size 512 --num 32
"""
import argparse
import json
import os
import os.path as osp
import tempfile
import time

import numpy as np
import torch

import dldm_mmseg  # noqa: F401
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from dldm_mmseg.synthesis.engine import SynthesisEngine
from dldm_mmseg.utils.palette import index_to_rgb


def build_generators(preset: str, folder: str):
    models = {}
    for name, cfg in (('mask', dict(type='LoRAMaskGenerator', lora_rank=32)),
                      ('image', dict(type='ControlNetImageGenerator'))):
        model = MODELS.build(dict(cfg, components=dict(preset=preset),
                                  source_dataset='PotsdamDataset'))
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for p in model.trainable_parameters().values():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.02)
        model.export(osp.join(folder, name))
        models[name] = model
    return models


def stock_pipelines(preset: str, folder: str, device):
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


def use_our_settings(pipes, dtype):
    """Our scheduler and dtype on the stock pipelines."""
    from dldm_mmseg.models.generators.components import inference_scheduler
    for pipe in pipes:
        pipe.scheduler = inference_scheduler('dpmsolver++',
                                             pipe.scheduler.config)
        pipe.to(dtype=dtype)


def run_stock(pipes, prompts, size, out_dir, palette, **call_args):
    from PIL import Image
    from dldm_mmseg.utils.palette import nearest_palette_index
    mask_pipe, image_pipe = pipes
    os.makedirs(out_dir, exist_ok=True)
    synchronize()
    start = time.perf_counter()
    for i, prompt in enumerate(prompts):
        mask = mask_pipe(prompt, height=size, width=size,
                         generator=torch.Generator().manual_seed(i),
                         **call_args).images[0]
        labels = nearest_palette_index(np.asarray(mask), palette)
        control = index_to_rgb(labels, palette)
        image = image_pipe(prompt, image=Image.fromarray(control),
                           height=size, width=size,
                           generator=torch.Generator().manual_seed(i + 1),
                           **call_args).images[0]
        Image.fromarray(labels).save(osp.join(out_dir, f'{i}_mask.png'))
        image.save(osp.join(out_dir, f'{i}.png'))
    synchronize()
    return (time.perf_counter() - start) / len(prompts)


def run_engine(models, num, size, batch, batching, out_dir, device,
               steps, guidance, compile=False):
    sampling = dict(steps=steps, guidance_scale=guidance)
    cfg = dict(
        source_dataset='PotsdamDataset', shares=dict(
            mode='fixed', fixed_shares=[.3, .25, .2, .15, .05, .05]),
        size=size, base_seed=0, batch_size=batch,
        mask_sampling=sampling, image_sampling=sampling,
        batching=batching, compile=compile)
    engine = SynthesisEngine(cfg, device=device, mask_model=models['mask'],
                             image_model=models['image'])
    result = engine.run(num, out_dir, progress=False)
    return result['seconds'] / num


def breakdown(models, size, batch, steps, guidance, device):
    """Seconds per pair of each part of one batched engine step."""
    from dldm_mmseg.utils.label_stats import (class_shares,
                                              remove_isolated_pixels)
    engine = SynthesisEngine(dict(
        source_dataset='PotsdamDataset', shares=dict(
            mode='fixed', fixed_shares=[.3, .25, .2, .15, .05, .05]),
        size=size, batch_size=batch, batching='free'),
        device=device, mask_model=models['mask'], image_model=models['image'])
    mask_model, image_model = engine.mask_model, engine.image_model
    prompts = [engine.plan(i)['mask_prompt'] for i in range(batch)]
    seeds = list(range(batch))
    parts = {}
    for repeat in range(2):  # the first is a warm-up
        synchronize()
        t0 = time.perf_counter()
        rgb = mask_model.sample(prompts, seeds, size, size, steps, guidance,
                                None, batch)
        synchronize()
        t1 = time.perf_counter()
        from dldm_mmseg.utils.palette import nearest_palette_index
        labels = nearest_palette_index(rgb, mask_model.palette)
        t2 = time.perf_counter()
        for label in labels:
            class_shares(remove_isolated_pixels(label, 0), 6)
        t3 = time.perf_counter()
        image_model.generate_images(labels, prompts, seeds, steps=steps,
                                    guidance_scale=guidance,
                                    batch_size=batch)
        synchronize()
        t4 = time.perf_counter()
        parts = dict(mask_sampling=t1 - t0, quantise=t2 - t1,
                     shares=t3 - t2, image_sampling=t4 - t3)
    return {k: v / batch for k, v in parts.items()}


class Seconds(dict):
    """Seconds per pair by variant, each printed as soon as it is measured
    (a run cut short by a time limit keeps what it measured)."""

    def __setitem__(self, name, value):
        super().__setitem__(name, value)
        print(f'  measured {name}: {value:.3f} s/pair', flush=True)


def synchronize():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--preset', default='tiny',
                        choices=['tiny', 'small', 'sd15'],
                        help='architecture (random weights)')
    parser.add_argument('--size', type=int, default=32,
                        help='image side in pixels')
    parser.add_argument('--num', type=int, default=16,
                        help='pairs per engine variant')
    parser.add_argument('--stock-num', type=int, default=4,
                        help='pairs per (slow) stock-pipeline variant')
    parser.add_argument('--batch-size', type=int, nargs='+', default=[8],
                        help='engine batch size(s); with several, each is '
                        'timed and engine_batched is the fastest')
    parser.add_argument('--steps', type=int, default=20,
                        help='our sampling steps (both stages)')
    parser.add_argument('--guidance', type=float, default=5.0,
                        help='our classifier-free guidance scale')
    parser.add_argument('--compile', action='store_true',
                        help='also time the batched engine with '
                        'torch.compile (last: it compiles the networks)')
    parser.add_argument('--breakdown', action='store_true',
                        help='also time the parts of one batched step')
    args = parser.parse_args(argv)
    init_default_scope('mmseg')
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    half = torch.float16 if device == 'cuda' else torch.float32
    prompt = ('impervious surface: 30%, building: 25%, low vegetation: 20%, '
              'tree: 15%, car: 5%, clutter: 5%')
    prompts = [prompt] * args.stock_num
    seconds = Seconds()
    with tempfile.TemporaryDirectory() as folder:
        models = build_generators(args.preset, folder)
        palette = models['mask'].palette
        pipes = stock_pipelines(args.preset, folder, device)
        run_stock(pipes, prompts[:1], args.size, osp.join(folder, 'warm'),
                  palette)
        seconds['stock_default'] = run_stock(
            pipes, prompts, args.size, osp.join(folder, 'stock'), palette)
        use_our_settings(pipes, half)
        ours = dict(num_inference_steps=args.steps,
                    guidance_scale=args.guidance)
        run_stock(pipes, prompts[:1], args.size, osp.join(folder, 'warm2'),
                  palette, **ours)
        seconds['stock_same_steps'] = run_stock(
            pipes, prompts, args.size, osp.join(folder, 'stock2'), palette,
            **ours)
        del pipes
        common = dict(size=args.size, device=device, steps=args.steps,
                      guidance=args.guidance)
        run_engine(models, 2, batching='free', batch=2,
                   out_dir=osp.join(folder, 'warm3'), **common)  # warm-up
        seconds['engine_one_at_a_time'] = run_engine(
            models, args.num, batching='one_at_a_time',
            batch=args.batch_size[0], out_dir=osp.join(folder, 'exact'),
            **common)
        for batch in args.batch_size:
            seconds[f'engine_batched_b{batch}'] = run_engine(
                models, args.num, batching='free', batch=batch,
                out_dir=osp.join(folder, f'fast{batch}'), **common)
            seconds[f'engine_aligned_b{batch}'] = run_engine(
                models, args.num, batching='aligned', batch=batch,
                out_dir=osp.join(folder, f'aligned{batch}'), **common)
        seconds['engine_batched'] = min(
            seconds[f'engine_batched_b{b}'] for b in args.batch_size)
        seconds['engine_aligned'] = min(
            seconds[f'engine_aligned_b{b}'] for b in args.batch_size)
        parts = breakdown(models, args.size, args.batch_size[-1],
                          args.steps, args.guidance, device) \
            if args.breakdown else None
        if args.compile:
            batch = args.batch_size[0]
            try:  # the networks stay compiled from here on
                run_engine(models, 2 * batch, batching='free',
                           batch=batch, out_dir=osp.join(folder, 'warm4'),
                           compile=True, **common)
                seconds['engine_batched_compiled'] = run_engine(
                    models, args.num, batching='free', batch=batch,
                    out_dir=osp.join(folder, 'compiled'), **common)
            except Exception as e:  # report the other figures anyway
                print(f'torch.compile variant failed: {e!r}')
    base = seconds['stock_default']
    print(f'device {device}'
          + (f' ({torch.cuda.get_device_name()})' if device == 'cuda' else '')
          + f', preset {args.preset}, {args.size}x{args.size}, our steps '
          f'{args.steps}, guidance {args.guidance}')
    for name, value in seconds.items():
        print(f'  {name:22s} {value:8.3f} s/pair  ({base / value:5.1f}x '
              'stock_default)')
    ratios = dict(
        step_count=base / seconds['stock_same_steps'],
        engineering_batched=seconds['stock_same_steps']
        / seconds['engine_batched'],
        engineering_one_at_a_time=seconds['stock_same_steps']
        / seconds['engine_one_at_a_time'],
        batched_vs_one_at_a_time=seconds['engine_one_at_a_time']
        / seconds['engine_batched'],
        aligned_vs_free=seconds['engine_aligned']
        / seconds['engine_batched'],
        engineering_aligned=seconds['stock_same_steps']
        / seconds['engine_aligned'],
        total=base / seconds['engine_batched'])
    summary = dict(device=device, preset=args.preset, size=args.size,
                   steps=args.steps, batch_sizes=args.batch_size,
                   s_per_pair={k: round(v, 4) for k, v in seconds.items()},
                   ratios={k: round(v, 2) for k, v in ratios.items()})
    if parts:
        print('  one batched step, s/pair: ' + ', '.join(
            f'{k} {v:.3f}' for k, v in parts.items()))
        summary['breakdown_s_per_pair'] = {k: round(v, 4)
                                           for k, v in parts.items()}
    if device == 'cuda':
        summary['card'] = torch.cuda.get_device_name()
    print(json.dumps(summary))
    return summary


if __name__ == '__main__':
    main()
