"""Proportion control at synthesis: mCPE of the masks and seconds per mask
for no guidance, proportion guidance, rejection (best of N), and both,
side by side in one run on the same targets and seeds.

Uses the synthesis engine of a synth config (its mask generator, target
shares and prompts; the image generator is not run). The last line printed
is one JSON object with ``mCPE`` and ``s_per_mask`` per variant and the
ratios to no guidance.

Example (the demo's pretrained stage-1 model, 48 masks)::

    python bench/proportion_guidance.py configs/demo/synth_small_toy.py \
        --num 48 --max-timestep 150 --scales 0.5 1 --cfg-options \
        synthesis.mask_generator.weights=demo_weights/mask_small_toy \
        synthesis.mask_generator.model.components.vae=demo_weights/vae_mask \
        synthesis.image_generator.model.components.vae=demo_weights/vae_image \
        synthesis.real_captions.data_root=work_dirs/demo/data/toy_landcover \
        synthesis.image_generator.weights=demo_weights/image_controlnet_small_toy
"""
import argparse
import json
import time

import numpy as np
from mmengine.config import DictAction

import dldm_mmseg  # noqa: F401
from dldm_mmseg.synthesis.engine import SynthesisEngine
from dldm_mmseg.synthesis.settings import (MaskSamplingSettings,
                                           RejectSettings)
from dldm_mmseg.utils.config import load_run_config


def run(engine, plans, sampling, max_cpe, max_tries):
    engine.settings.mask_sampling = MaskSamplingSettings.from_config(
        sampling)
    engine.settings.reject = RejectSettings(max_cpe, max_tries)
    batch = engine.settings.batch_size
    start = time.perf_counter()
    masks = []
    for first in range(0, len(plans), batch):
        masks += engine._masks(plans[first:first + batch])
    seconds = time.perf_counter() - start
    return float(np.mean([m['cpe'] for m in masks])), seconds / len(plans)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='synth config')
    parser.add_argument('--num', type=int, default=48)
    parser.add_argument('--scales', type=float, nargs='+', default=[20.0],
                        help='proportion guidance scales to measure')
    parser.add_argument('--max-timestep', type=int, default=400)
    parser.add_argument('--max-cpe', type=float, default=10.0,
                        help='rejection: redraw masks this far off')
    parser.add_argument('--max-tries', type=int, default=3)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = load_run_config(args.config, args.cfg_options).synthesis.to_dict()
    engine = SynthesisEngine(cfg)
    plans = [engine.plan(i) for i in range(args.num)]
    base = engine.settings.mask_sampling.kwargs()
    base.pop('prop_guidance', None)
    variants = {'none': (base, None, 1),
                f'rejection (<= {args.max_cpe:g}, best of {args.max_tries})':
                (base, args.max_cpe, args.max_tries)}
    for scale in args.scales:
        guided = dict(base, prop_guidance=dict(
            scale=scale, max_timestep=args.max_timestep))
        variants[f'guidance {scale:g}'] = (guided, None, 1)
        variants[f'guidance {scale:g} + rejection'] = (
            guided, args.max_cpe, args.max_tries)
    run(engine, plans[:engine.settings.batch_size], base, None, 1)  # warm-up
    results = {}
    for name, (sampling, max_cpe, tries) in variants.items():
        mcpe, seconds = run(engine, plans, sampling, max_cpe, tries)
        results[name] = dict(mCPE=round(mcpe, 3),
                             s_per_mask=round(seconds, 4))
        print(f'  {name:38s} mCPE {mcpe:6.2f}  {seconds:.3f} s/mask')
    none = results['none']
    for r in results.values():
        r['mCPE_vs_none'] = round(r['mCPE'] / none['mCPE'], 3)
        r['time_vs_none'] = round(r['s_per_mask'] / none['s_per_mask'], 3)
    summary = dict(config=args.config, num=args.num,
                   max_timestep=args.max_timestep, results=results)
    print(json.dumps(summary))
    return summary


if __name__ == '__main__':
    main()
