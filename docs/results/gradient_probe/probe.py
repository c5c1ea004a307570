"""Where can L_prop act? For a trained stage-1 model, at fixed timesteps:
how far the decoded x0 of one denoising step is from its prompt's shares,
and whether the gradients of CE and of L_prop on the x0 latent point
toward the true mask's latent (cosine between -dloss/dx0 and
``true latent - x0``, the true latent being one draw of the VAE's
posterior, as in training), on train masks (as the train pipeline
loads them) with their own prompts::

    DLDM_DEMO_DIR=work_dirs/toy_s1 \\
    python docs/results/gradient_probe/probe.py \\
        configs/demo/mask_small_toy_numeric_ce_only.py \\
        work_dirs/toy_s1/mask_small_toy_numeric_ce_only/export/final \\
        --out docs/results/gradient_probe/toy_numeric_ce_only.json

The generator config reads its data and VAE from ``$DLDM_DEMO_DIR`` (a
demo work dir). A share-conditioned model gets each mask's measured shares
as its numeric condition, as in training.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS

import dldm_mmseg  # noqa: F401
from dldm_mmseg.models.generators.share_conditioning import share_inputs
from dldm_mmseg.synthesis.runtime import load_generator
from dldm_mmseg.utils.io import atomic_open

ESTIMATORS = ('soft', 'straight_through')


def hard_shares(logits: torch.Tensor) -> torch.Tensor:
    """``N x C`` shares of each pixel's most likely class (ignore column
    last, left out), of the pixels not drawn as ignore."""
    index = logits.argmax(1)
    num_classes = logits.shape[1] - 1
    counts = torch.stack([(index == c).flatten(1).sum(1)
                          for c in range(num_classes)], 1).float()
    return counts / counts.sum(1, keepdim=True).clamp(min=1)


def probe(model, batch: dict, timesteps) -> dict:
    """Per timestep: L1 share error of the decoded x0 (hard shares, summed
    over classes) and, for CE and each L_prop estimator, the mean cosine
    of its descent direction with ``true latent - x0``, the fraction of
    samples where it is positive, and the loss value."""
    mask, label = torch.stack(batch['mask']), torch.stack(batch['label'])
    target = torch.stack(batch['target_shares']).float()
    prompts = list(batch['prompt'])
    with torch.no_grad():
        latents = model.encode_pixels(model.mask_pixels(mask, label))
        embeddings = model.encode_prompt(prompts)
    extra = {}
    if model.share_conditioned:
        extra['class_labels'] = share_inputs(target)
    rows = {}
    for step in timesteps:
        t = torch.full((latents.shape[0],), step, dtype=torch.long)
        noise = torch.randn(latents.shape,
                            generator=torch.Generator().manual_seed(step))
        noisy = model.noise_scheduler.add_noise(latents, noise, t)
        with torch.no_grad():
            pred = model.unet(noisy, t, embeddings, **extra).sample
        x0 = model.predict_x0(noisy, pred, t).detach()
        row = {}
        for name in ('ce',) + ESTIMATORS:
            x = x0.clone().requires_grad_(True)
            decoded = model.decode_latents(x)
            if name != 'ce':
                model.prop_estimator = name
            ce, prop = model.x0_mask_losses(decoded, label, target)
            loss = ce if name == 'ce' else prop
            grad, = torch.autograd.grad(loss.sum(), x)
            cos = torch.nn.functional.cosine_similarity(
                -grad.flatten(1), (latents - x0).flatten(1), dim=1)
            row[name] = dict(value=float(loss.detach().mean()),
                             cos=float(cos.mean()),
                             cos_positive=float((cos > 0).float().mean()))
            if name == 'ce':
                shares = hard_shares(model.mask_logits(decoded.detach()))
                row['x0_share_l1'] = float(
                    (shares - target).abs().sum(1).mean())
        rows[str(step)] = row
        print(step, json.dumps(row), flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('weights', help='the model\'s export folder')
    parser.add_argument('--num', type=int, default=32,
                        help='train masks probed (every k-th)')
    parser.add_argument('--timesteps', type=int, nargs='+',
                        default=[50, 150, 300, 450, 600, 750, 900])
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = load_generator(dict(config=args.config, weights=args.weights))
    model.eval()
    dataset = DATASETS.build(
        Config.fromfile(args.config).train_dataloader.dataset)
    step = max(1, len(dataset) // args.num)
    batch = pseudo_collate([dataset[i] for i in range(0, len(dataset),
                                                      step)][:args.num])
    rows = probe(model, batch, args.timesteps)
    made_by = dict(argv=sys.argv[1:],
                   demo_dir=os.environ.get('DLDM_DEMO_DIR'),
                   commit=subprocess.run(
                       ['git', 'rev-parse', 'HEAD'], capture_output=True,
                       text=True).stdout.strip())
    with atomic_open(args.out, 'w') as f:
        json.dump(dict(made_by=made_by, config=args.config,
                       weights=osp.normpath(args.weights),
                       num=len(batch['prompt']), timesteps=rows), f,
                  indent=1)
    print('wrote', args.out)


if __name__ == '__main__':
    main()
