"""Seconds per training iteration and peak memory of the generators.

Runs stage 1 (LoRAMaskGenerator, batch 16) and stage 2
(ControlNetImageGenerator, batch 12) side by side in two set-ups:

* ``fp32``: everything float32, no gradient checkpointing;
* ``lowmem``: frozen SD in bf16 (fp16 with --half fp16) under AMP,
  trainable weights fp32, gradient checkpointing (x0 decoded one sample at
  a time under checkpointing);
* ``lowmem_nox0`` (stage 1 only): ``lowmem`` without CE and L_prop, i.e.
  what decoding x0 through the VAE and its backward pass cost. Stage 2
  runs as its Potsdam config does, without the image-space x0 term.
* ``..._shares`` (stage 1 only): the same with numeric share
  conditioning (``share_conditioning``; target: within 5% of the time
  without);
* ``..._cached``: the same with ``cache_latents`` and ``cache_text``, in
  the steady state where every view and prompt of the batch is cached (the
  warm-up step fills the caches): the VAE encoder and the text encoder no
  longer run. In training the hit rate climbs over the first epochs (one of
  8 flip/rotation views of each patch per epoch; the log's
  ``cache_hits_latents``).

The last line printed is one JSON object with every figure.

On a GPU use the full SD 1.5 shapes (``--preset sd15 --size 512``; target:
stage 1 at batch 16 fits in 24 GB with bf16 + checkpointing, where the paper
needed a 40 GB A100). On a CPU the defaults (``tiny``, 32 px) keep the
script working; only the ratios mean something there.

Example::

    python bench/generator_train_step.py --preset sd15 --size 512 --iters 5
    python bench/generator_train_step.py            # CPU, tiny
"""
import argparse
import json
import math
import time

import numpy as np
import torch

import dldm_mmseg  # noqa: F401
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmseg.registry import MODELS
from dldm_mmseg.utils.palette import index_to_rgb
from dldm_mmseg.utils.prompts import format_class_shares

CLASSES = ('impervious_surface', 'building', 'low_vegetation', 'tree', 'car',
           'clutter')
PALETTE = [[255, 255, 255], [0, 0, 255], [0, 255, 255], [0, 255, 0],
           [255, 255, 0], [255, 0, 0]]


def make_batch(batch: int, size: int, device, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 6, size=(batch, 8, 8))
    labels = np.kron(blocks, np.ones((1, size // 8, size // 8), np.int64))
    shares = np.stack([np.bincount(lbl.ravel(), minlength=6) / lbl.size
                       for lbl in labels])
    mask = torch.from_numpy(index_to_rgb(labels, PALETTE)).permute(
        0, 3, 1, 2).float() / 127.5 - 1
    return dict(
        mask=mask.to(device), label=torch.from_numpy(labels).to(device),
        image=(torch.rand(batch, 3, size, size) * 2 - 1).to(device),
        prompt=[format_class_shares(s, CLASSES) for s in shares],
        view=[f'patch{i}' for i in range(batch)],
        target_shares=torch.from_numpy(shares).float().to(device))


def run_case(model_type: str, preset: str, batch: int, size: int,
             setup: str, half: str, iters: int, device) -> dict:
    lowmem = setup.startswith('lowmem')
    x0 = '_nox0' not in setup
    cached = setup.endswith('_cached')
    shares = setup.endswith('_shares')
    cfg = dict(type=model_type, components=dict(preset=preset),
               cache_latents=cached, cache_text=cached,
               frozen_dtype=half if lowmem else None,
               gradient_checkpointing=lowmem, grad_norm_interval=0,
               x0_weighting='none')  # every sample decodes: the worst case
    if model_type == 'LoRAMaskGenerator':
        cfg.update(lora_rank=32, ce_weight=0.5 * x0, prop_weight=0.5 * x0,
                   share_conditioning=dict() if shares else None)
    # stage 2 as configs/generators/image_controlnet_potsdam.py: no x0 term
    cfg['source_dataset'] = 'PotsdamDataset'
    model = MODELS.build(cfg).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5)
    if lowmem and device.type == 'cuda':
        wrapper = AmpOptimWrapper(
            optimizer=optimizer, dtype='bfloat16' if half == 'bf16'
            else 'float16', loss_scale='dynamic' if half == 'fp16' else 1.0)
    else:
        wrapper = OptimWrapper(optimizer=optimizer)
    data = make_batch(batch, size, device)
    if device.type == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    model.train_step(data, wrapper)  # warm-up
    if device.type == 'cuda':
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters):
        model.train_step(data, wrapper)
    if device.type == 'cuda':
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / iters
    peak = torch.cuda.max_memory_allocated() / 2**30 \
        if device.type == 'cuda' else float('nan')
    del model, optimizer, wrapper
    return dict(seconds=seconds, peak_gib=peak)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--preset', default='tiny',
                        choices=['tiny', 'small', 'sd15'],
                        help='architecture (random weights)')
    parser.add_argument('--size', type=int, default=32,
                        help='image side in pixels')
    parser.add_argument('--mask-batch', type=int, default=16,
                        help='stage-1 batch (paper: 16)')
    parser.add_argument('--image-batch', type=int, default=12,
                        help='stage-2 batch (paper: 12)')
    parser.add_argument('--iters', type=int, default=3,
                        help='timed iterations per case (after a warm-up)')
    parser.add_argument('--half', choices=['bf16', 'fp16'], default='bf16',
                        help='dtype of the frozen weights in lowmem')
    setups = ['fp32', 'fp32_cached', 'fp32_shares', 'lowmem', 'lowmem_cached',
              'lowmem_shares', 'lowmem_nox0', 'lowmem_nox0_cached']
    parser.add_argument('--setups', nargs='+', default=setups,
                        choices=setups,
                        help='which set-ups to run (see above)')
    args = parser.parse_args(argv)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    print(f'device {device}, preset {args.preset}, {args.size}x{args.size}')
    results = {}
    speedups = {}  # uncached / cached seconds per iteration
    share_costs = {}  # with / without numeric share conditioning
    for model_type, batch in (('LoRAMaskGenerator', args.mask_batch),
                              ('ControlNetImageGenerator', args.image_batch)):
        for setup in args.setups:
            if ('_nox0' in setup or '_shares' in setup) and \
                    model_type != 'LoRAMaskGenerator':
                continue
            try:
                r = run_case(model_type, args.preset, batch, args.size,
                             setup, args.half, args.iters, device)
            except torch.OutOfMemoryError:
                r = dict(seconds=float('nan'), peak_gib=float('inf'))
                import gc
                gc.collect()
                torch.cuda.empty_cache()
            results[model_type, setup] = r
            memory = (f', peak {r["peak_gib"]:.2f} GiB'
                      if device.type == 'cuda' else '')
            print(f'  {model_type:26s} batch {batch:2d} {setup:18s}: '
                  f'{r["seconds"]:.3f} s/iter{memory}')
        if {'fp32', 'lowmem'} <= set(args.setups):
            a, b = results[model_type, 'fp32'], results[model_type, 'lowmem']
            memory = (f', memory = {b["peak_gib"] / a["peak_gib"]:.2f}'
                      if device.type == 'cuda' else ' (memory: GPU only)')
            print(f'  {model_type}: lowmem / fp32 time = '
                  f'{b["seconds"] / a["seconds"]:.2f}{memory}')
        for setup in ('fp32', 'lowmem', 'lowmem_nox0'):
            if (model_type, setup + '_cached') in results and \
                    (model_type, setup) in results:
                ratio = results[model_type, setup]['seconds'] / \
                    results[model_type, setup + '_cached']['seconds']
                speedups[f'{model_type}/{setup}'] = round(ratio, 3)
                print(f'  {model_type}: {setup} uncached / cached time = '
                      f'{ratio:.2f}')
            if (model_type, setup + '_shares') in results and \
                    (model_type, setup) in results:
                ratio = results[model_type, setup + '_shares']['seconds'] / \
                    results[model_type, setup]['seconds']
                share_costs[setup] = round(ratio, 3)
                print(f'  {model_type}: {setup} with / without numeric '
                      f'shares time = {ratio:.3f} (target <= 1.05: '
                      f'{"met" if ratio <= 1.05 else "NOT met"})')
    mask_lowmem = results.get(('LoRAMaskGenerator', 'lowmem'))
    if mask_lowmem and device.type == 'cuda':
        fits = mask_lowmem['peak_gib'] <= 24
        print(f'stage 1 batch {args.mask_batch} lowmem peak '
              f'{mask_lowmem["peak_gib"]:.1f} GiB: 24 GB target '
              f'{"met" if fits else "NOT met"}')
    summary = dict(device=str(device), preset=args.preset, size=args.size,
                   mask_batch=args.mask_batch, image_batch=args.image_batch,
                   results={f'{m}/{s}': {k: (round(v, 4) if math.isfinite(v)
                                             else None)  # OOM
                                         for k, v in r.items()}
                            for (m, s), r in results.items()},
                   cache_speedup=speedups, share_conditioning_cost=share_costs)
    if device.type == 'cuda':
        summary['card'] = torch.cuda.get_device_name()
    print(json.dumps(summary))
    return results


if __name__ == '__main__':
    main()
