"""Fit the VAE of an architecture preset as an autoencoder of a dataset's
colour masks or images (``tools/fit_vae.py``), so generators built from
the preset (``components=dict(preset='small', vae=OUT)``) start from a VAE
that reconstructs. Pretrained Stable Diffusion checkpoints need no such
step."""
import time
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

from mmseg.registry import DATASETS
from dldm_mmseg.models.generators import build_sd_components
from dldm_mmseg.utils.io import atomic_directory
from dldm_mmseg.utils.palette import (nearest_palette_index_torch,
                                      palette_logits)

CONTENTS = ('masks', 'images', 'both')


def fit_vae(data_root: str, out: str, preset: str = 'small',
            source_dataset=None, iters: int = 400,
            batch_size: int = 16, lr: float = 1e-3, kl_weight: float = 1e-6,
            seed: int = 0, log_interval: int = 50,
            mask_ce_weight: float = 0.1,
            crop_size: Optional[int] = None,
            class_balance: float = 0.5, content: str = 'both') -> dict:
    """Train the preset VAE on masks and/or images (MSE + small KL) and
    save it with ``save_pretrained``.

    ``content`` chooses what it autoencodes: ``'masks'`` (for the mask
    generator), ``'images'`` (for the image generator) or ``'both'``.
    One small VAE fitted to both learns two modes that sit close together
    in latent space: measured on the demo's scenes, about a fifth of the
    mask generator's samples decoded as aerial images (mCPE ~30 each)
    and the image generator painted many images in palette colours. A
    pretrained SD VAE is a general image autoencoder without such modes;
    a preset needs one VAE per stage (``'masks'`` and ``'images'``).

    The saved ``scaling_factor`` is 1 / std of the latents of the data, as
    Stable Diffusion's was chosen: diffusion assumes unit-variance latents,
    and a fitted VAE's latents are far from the preset's 0.18215 scale (the
    toy set's have a std near 1, so the preset's factor would leave them
    at about a fifth of the noise's scale and the UNet would learn mostly
    from noise).

    ``mask_ce_weight`` adds the palette cross-entropy of the reconstructed
    masks (:func:`~dldm_mmseg.utils.palette.palette_logits`): with MSE
    alone, 150 steps on the demo's scenes left car, tree and clutter
    unreconstructable (77% of mask pixels back in their class).

    ``crop_size`` trains on random square crops of that many pixels (the
    same crop for a scene's mask, image and labels): the VAE is
    convolutional, so it learns the same from a quarter of the pixels at
    a quarter of the cost per step (on the demo's 64 px scenes, 32 px crops
    let four times the steps into the same minutes).

    ``source_dataset`` names the real set's classes and palette: a
    registered type or a dataset config with ``metainfo`` (see
    :mod:`dldm_mmseg.utils.source_dataset`). Required.

    ``class_balance`` weights each pixel's squared error (mask and image)
    by its class's pixel frequency in the batch to the power
    ``-class_balance`` (weights averaging 1): with plain MSE a 1% class is
    1% of the loss, and on the demo's scenes 800 steps left cars and
    clutter out of the reconstructed images entirely. 0 is plain MSE.

    Returns:
        dict: ``first``/``last`` mean losses, ``steps``,
        ``scaling_factor`` and ``mask_pixel_accuracy`` (None for an
        ``'images'`` VAE; else the share of valid mask
        pixels reconstructed in their class, first 8 batches).
    """
    if content not in CONTENTS:
        raise ValueError(f'content must be one of {CONTENTS}, got '
                         f'{content!r}')
    for name, value in (('iters', iters), ('batch_size', batch_size)):
        if value < 1:
            raise ValueError(f'{name} must be >= 1, got {value} (nothing '
                             'would be fitted and the VAE saved as it is)')
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
            if crop_size:
                batch = random_crop(batch, crop_size)
            pixels = content_pixels(batch, content)
            posterior = vae.encode(pixels).latent_dist
            recon = vae.decode(posterior.sample()).sample
            weight = class_balanced_weights(batch['label'], len(
                dataset.classes), class_balance).repeat(
                    len(pixels) // len(batch['label']), 1, 1)
            squared = (recon - pixels).pow(2).mean(1)
            loss = (weight * squared).mean() + \
                kl_weight * posterior.kl().mean()
            if mask_ce_weight and content != 'images':
                # MSE alone lets a small class's colour blur into its
                # neighbours (a 1% class costs 1% of the loss): the palette
                # CE the mask generator is trained with keeps every class
                # reconstructable
                masks = recon[:len(batch['mask'])]
                logits = palette_logits((masks + 1) / 2, dataset.palette)
                loss = loss + mask_ce_weight * F.cross_entropy(
                    logits, batch['label'], ignore_index=255)
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
    scaling_factor = latent_scaling_factor(vae, loader, content=content)
    accuracy = None if content == 'images' else \
        mask_pixel_accuracy(vae, loader, dataset.palette)
    vae.register_to_config(scaling_factor=scaling_factor)
    with atomic_directory(out) as tmp:
        vae.save_pretrained(tmp, safe_serialization=True)
    window = max(1, min(20, len(losses) // 4))
    return dict(first=float(np.mean(losses[:window])),
                last=float(np.mean(losses[-window:])), steps=step,
                scaling_factor=scaling_factor, mask_pixel_accuracy=accuracy)


def class_balanced_weights(labels, num_classes: int, power: float):
    """Per-pixel weights ``freq(class) ** -power`` over the batch's valid
    pixels, scaled to mean 1; ignore pixels get weight 1."""
    weights = torch.ones(labels.shape, dtype=torch.float32)
    if power == 0:
        return weights
    valid = labels != 255
    counts = torch.bincount(labels[valid], minlength=num_classes).float()
    per_class = (counts / counts.sum().clamp_min(1)).clamp_min(1e-6) ** -power
    weights[valid] = per_class[labels[valid]]
    weights[valid] /= weights[valid].mean()
    return weights


def random_crop(batch: dict, size: int) -> dict:
    """One random ``size`` x ``size`` window per scene, the same for its
    mask, image and label map (``torch.randint``: seeded by the caller)."""
    height, width = batch['label'].shape[-2:]
    if size > min(height, width):
        raise ValueError(f'crop_size {size} is larger than the scenes '
                         f'({height}x{width}); use at most {min(height, width)}')
    out = {k: [] for k in ('mask', 'image', 'label')}
    for i in range(len(batch['label'])):
        y = int(torch.randint(0, height - size + 1, ()))
        x = int(torch.randint(0, width - size + 1, ()))
        for key in out:
            out[key].append(batch[key][i, ..., y:y + size, x:x + size])
    return {k: torch.stack(v) for k, v in out.items()}


def mask_pixel_accuracy(vae, loader, palette, max_batches: int = 8) -> float:
    """Share of valid mask pixels that come back in their class through
    the VAE (posterior mean, nearest palette colour)."""
    hits = total = 0
    with torch.no_grad():
        for i, batch in enumerate(loader):
            if i >= max_batches:
                break
            recon = vae.decode(vae.encode(batch['mask']).latent_dist.mean
                               ).sample
            rgb = ((recon + 1) * 127.5).round().clamp(0, 255).to(
                torch.uint8).permute(0, 2, 3, 1)
            pred = nearest_palette_index_torch(rgb, palette).long()
            valid = batch['label'] != 255
            hits += int((pred[valid] == batch['label'][valid]).sum())
            total += int(valid.sum())
    return hits / max(total, 1)


def content_pixels(batch: dict, content: str):
    """The pixels a VAE of ``content`` autoencodes: masks, images or
    both (masks first)."""
    parts = {'masks': ['mask'], 'images': ['image'],
             'both': ['mask', 'image']}[content]
    return torch.cat([batch[k] for k in parts])


def latent_scaling_factor(vae, loader, max_batches: int = 8,
                          content: str = 'both') -> float:
    """1 / std of sampled VAE latents of ``content`` (SD's recipe)."""
    latents = []
    with torch.no_grad():
        for i, batch in enumerate(loader):
            if i >= max_batches:
                break
            pixels = content_pixels(batch, content)
            latents.append(vae.encode(pixels).latent_dist.sample().flatten())
    return float(1 / torch.cat(latents).std().clamp_min(1e-6))
