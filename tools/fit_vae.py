"""Fit the VAE of an architecture preset as an autoencoder of a dataset's
colour masks and images, so generators built from the preset
(``components=dict(preset='small', vae=OUT)``) start from a VAE that
reconstructs. Pretrained Stable Diffusion checkpoints need no such step.

Example::

    python tools/fit_vae.py work_dirs/demo/data/toy_landcover \
        --preset small --out work_dirs/demo/vae --iters 400
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import dldm_mmseg  # noqa: E402,F401


def fit_vae(data_root: str, out: str, preset: str = 'small',
            source_dataset: str = 'PotsdamDataset', iters: int = 400,
            batch_size: int = 16, lr: float = 1e-3, kl_weight: float = 1e-6,
            seed: int = 0, log_interval: int = 50) -> dict:
    """Train the preset VAE on masks and images (MSE + small KL) and save
    it with ``save_pretrained``; returns the first and last losses."""
    import numpy as np
    import torch
    from mmengine.registry import init_default_scope
    from torch.utils.data import DataLoader

    from mmseg.registry import DATASETS
    from dldm_mmseg.models.generators import build_sd_components
    from dldm_mmseg.models.generators.base import atomic_directory
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    np.random.seed(seed)
    dataset = DATASETS.build(dict(type='MaskCaptionDataset',
                                  data_root=data_root, load_image=True,
                                  source_dataset=source_dataset,
                                  allow_missing_captions=True))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True,
                        drop_last=len(dataset) > batch_size)
    vae = build_sd_components(preset=preset, seed=seed).vae
    vae.requires_grad_(True).train()
    optimizer = torch.optim.AdamW(vae.parameters(), lr=lr)
    losses, step, start = [], 0, time.time()
    while step < iters:
        for batch in loader:
            pixels = torch.cat([batch['mask'], batch['image']])
            posterior = vae.encode(pixels).latent_dist
            recon = vae.decode(posterior.sample()).sample
            loss = torch.nn.functional.mse_loss(recon, pixels) + \
                kl_weight * posterior.kl().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
            if step % log_interval == 0 or step == 1:
                print(f'vae step {step}/{iters}: loss {loss.item():.4f} '
                      f'({time.time() - start:.0f} s)')
            if step >= iters:
                break
    vae.eval()
    with atomic_directory(out) as tmp:
        vae.save_pretrained(tmp, safe_serialization=True)
    window = max(1, min(20, len(losses) // 4))
    return dict(first=float(np.mean(losses[:window])),
                last=float(np.mean(losses[-window:])), steps=step)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data_root', help='mmseg-format dataset with '
                        'captions.jsonl')
    parser.add_argument('--out', required=True)
    parser.add_argument('--preset', default='small',
                        choices=['tiny', 'small', 'sd15'])
    parser.add_argument('--dataset', default='PotsdamDataset')
    parser.add_argument('--iters', type=int, default=400)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--lr', type=float, default=1e-3)
    args = parser.parse_args(argv)
    result = fit_vae(args.data_root, args.out, args.preset, args.dataset,
                     args.iters, args.batch_size, args.lr)
    print(f'VAE saved to {args.out}: loss {result["first"]:.4f} -> '
          f'{result["last"]:.4f}')
    return result


if __name__ == '__main__':
    main()
