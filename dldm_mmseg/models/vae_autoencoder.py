"""The VAE of an architecture preset as an mmengine model: ``Runner`` fits
it as an autoencoder of a dataset's colour masks and/or images (see
:mod:`dldm_mmseg.models.vae_fitting`), so generators built from a
random-weight preset start from a VAE that reconstructs. Pretrained Stable
Diffusion checkpoints need no such step."""
from typing import Dict, Iterable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from mmseg.registry import MODELS
from dldm_mmseg.datasets.transforms import from_unit_range
from dldm_mmseg.models.generators import build_sd_components
from dldm_mmseg.utils.class_weights import class_balanced_weights
from dldm_mmseg.utils.io import atomic_directory
from dldm_mmseg.utils.mask_encoding import (ENCODINGS,
                                            check_onehot_classes,
                                            onehot_channels,
                                            onehot_index, onehot_logits,
                                            onehot_pixels)
from dldm_mmseg.utils.palette import (nearest_palette_index_torch,
                                      palette_logits)
from dldm_mmseg.utils.source_dataset import (SourceDataset,
                                             source_dataset_defaults)

CONTENTS = ('masks', 'images', 'both')


@MODELS.register_module()
class VAEAutoencoder(BaseModel):
    """Fit a preset's VAE to masks, images or both (class-balanced squared
    error + a small KL + the palette CE of reconstructed masks).

    ``content`` chooses what it autoencodes: ``'masks'`` (for the mask
    generator), ``'images'`` (for the image generator) or ``'both'``. One
    small VAE fitted to both learns two modes that sit close together in
    latent space, so the mask generator can draw aerial images and the
    image generator palette colours (see docs/results/history.md,
    "What made the generators follow their conditions"). A pretrained SD
    VAE is a general image autoencoder without such modes; a preset needs
    one VAE per stage.

    :meth:`export` saves it with ``save_pretrained`` and a
    ``scaling_factor`` of 1 / std of its latents on the data, as Stable
    Diffusion's was chosen: diffusion assumes unit-variance latents, and a
    fitted VAE's latents are far from the preset's 0.18215 scale.

    Args:
        source_dataset (str | dict): The real set's classes and palette (a
            registered type or a dataset config with ``metainfo``).
            Required.
        preset (str): Architecture preset (``'tiny'``, ``'small'``,
            ``'sd15'``). Defaults to ``'small'``.
        content (str): ``'masks'``, ``'images'`` or ``'both'``. Defaults
            to ``'both'``.
        kl_weight (float): Weight of the KL term. Defaults to 1e-6.
        mask_ce_weight (float): Weight of the palette cross-entropy of the
            reconstructed masks, which keeps small classes reconstructable
            (with squared error alone their colours blur into their
            neighbours'). Defaults to 0.1.
        class_balance (float): Each pixel's squared error is weighted by
            its class's pixel frequency in the batch to the power
            ``-class_balance`` (weights averaging 1): with plain MSE a 1%
            class is 1% of the loss, and rare classes can be left out of
            the reconstructed images. 0 is plain MSE. Defaults to 0.5.
        seed (int): Seed of the preset's initial weights. Defaults to 0.
        mask_encoding (str): ``'rgb'`` (masks in palette colours, what a
            pretrained SD VAE takes) or ``'onehot'`` (one channel per class
            plus ignore, :mod:`~dldm_mmseg.utils.mask_encoding`; with
            ``content='masks'`` only). Defaults to ``'rgb'``.
        latent_channels (int, optional): Latent channels, instead of the
            preset's (4): more latent values per pixel, and the generator
            drawing through the VAE gets a UNet with as many
            (:func:`~dldm_mmseg.models.generators.build_sd_components`).
            Defaults to None.
        scale_factor (int, optional): Downsampling factor, a power of 2 up
            to the preset's own (4 for ``'small'``): fewer pixels per latent
            keep thin structures (roads, field edges) that a coarser VAE
            merges into their neighbours. Defaults to None: the preset's.
    """

    def __init__(self, source_dataset: SourceDataset = None,
                 preset: str = 'small', content: str = 'both',
                 kl_weight: float = 1e-6, mask_ce_weight: float = 0.1,
                 class_balance: float = 0.5, seed: int = 0,
                 mask_encoding: str = 'rgb',
                 latent_channels: Optional[int] = None,
                 scale_factor: Optional[int] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if content not in CONTENTS:
            raise ValueError(f'content must be one of {CONTENTS}, got '
                             f'{content!r}')
        meta = source_dataset_defaults(source_dataset)['metainfo']
        self.num_classes = len(meta['classes'])
        self.palette = np.asarray(meta['palette'], np.uint8)
        self.content = content
        self.kl_weight = kl_weight
        self.mask_ce_weight = mask_ce_weight
        self.class_balance = class_balance
        if mask_encoding not in ENCODINGS:
            raise ValueError(f'mask_encoding must be one of {ENCODINGS}, '
                             f'got {mask_encoding!r}')
        if mask_encoding == 'onehot' and content != 'masks':
            raise ValueError(f"mask_encoding='onehot' autoencodes masks "
                             f"only; got content={content!r}")
        self.mask_encoding = mask_encoding
        if mask_encoding == 'onehot':
            check_onehot_classes(self.num_classes, "mask_encoding='onehot'")
        channels = onehot_channels(self.num_classes) \
            if mask_encoding == 'onehot' else 3
        self.vae = build_sd_components(preset=preset, seed=seed,
                                       vae_channels=channels,
                                       latent_channels=latent_channels,
                                       vae_scale_factor=scale_factor).vae
        self.vae.requires_grad_(True)
        #: the mean loss of every training step, for the fit's summary
        self.loss_history = []

    def forward(self, mode: str = 'loss', **batch):
        if mode != 'loss':
            raise ValueError(f'VAEAutoencoder supports mode="loss" only, got '
                             f'{mode!r}; its quality is measured on export '
                             '(latent scale, mask pixels reconstructed)')
        label = batch['label']
        pixels = self.pixels(batch)
        posterior = self.vae.encode(pixels).latent_dist
        recon = self.vae.decode(posterior.sample()).sample
        weight = class_balanced_weights(
            label, self.num_classes, self.class_balance).repeat(
                len(pixels) // len(label), 1, 1)
        squared = (recon - pixels).pow(2).mean(1)
        losses = dict(loss_rec=(weight * squared).mean(),
                      loss_kl=self.kl_weight * posterior.kl().mean())
        if self.mask_ce_weight and self.content != 'images':
            # MSE alone lets a small class's colour blur into its
            # neighbours: the palette CE the mask generator is trained with
            # keeps every class reconstructable
            logits = onehot_logits(recon) if self.mask_encoding == \
                'onehot' else palette_logits((recon[:len(label)] + 1) / 2,
                                             self.palette)
            losses['loss_mask_ce'] = self.mask_ce_weight * F.cross_entropy(
                logits, label, ignore_index=255)
        if self.training:
            self.loss_history.append(sum(v.item() for v in losses.values()))
        return losses

    @torch.no_grad()
    def export(self, path: str, batches: Iterable[dict],
               max_batches: int = 8) -> Dict[str, Optional[float]]:
        """Set the latent scaling factor from up to ``max_batches`` of
        ``batches`` and save the VAE to ``path`` (diffusers layout,
        written to a temporary folder and renamed).

        Returns:
            dict: ``scaling_factor`` and ``mask_pixel_accuracy`` (the share
            of valid mask pixels reconstructed in their class; None for an
            ``'images'`` VAE).
        """
        self.vae.eval()
        batches = [self.data_preprocessor(b, False) for _, b in
                   zip(range(max_batches), batches)]
        latents = torch.cat([
            self.vae.encode(self.pixels(b)).latent_dist.sample().flatten()
            for b in batches])
        scaling_factor = float(1 / latents.std().clamp_min(1e-6))
        accuracy = None if self.content == 'images' else \
            self.mask_pixel_accuracy(batches)
        self.vae.register_to_config(scaling_factor=scaling_factor)
        with atomic_directory(path) as tmp:
            self.vae.save_pretrained(tmp, safe_serialization=True)
        self.vae.train(self.training)
        return dict(scaling_factor=scaling_factor,
                    mask_pixel_accuracy=accuracy)

    def mask_pixel_accuracy(self, batches: Iterable[dict]) -> float:
        """Share of valid mask pixels that come back in their class through
        the VAE (posterior mean; nearest palette colour or largest
        channel)."""
        hits = total = 0
        for batch in batches:
            recon = self.vae.decode(self.vae.encode(self.pixels(
                batch, masks_only=True)).latent_dist.mean).sample
            pred = self.to_labels(recon).long()
            valid = batch['label'] != 255
            hits += int((pred[valid] == batch['label'][valid]).sum())
            total += int(valid.sum())
        return hits / max(total, 1)

    def pixels(self, batch: dict, masks_only: bool = False
               ) -> torch.Tensor:
        """What the VAE autoencodes of a batch: :func:`content_pixels` (the
        masks alone with ``masks_only``), or the one-hot masks of its
        labels."""
        if self.mask_encoding == 'onehot':
            return onehot_pixels(batch['label'], self.num_classes).to(
                batch['mask'])
        return batch['mask'] if masks_only else \
            content_pixels(batch, self.content)

    def to_labels(self, decoded: torch.Tensor) -> torch.Tensor:
        """Train ids (255 = ignore) of decoded masks."""
        if self.mask_encoding == 'onehot':
            return onehot_index(decoded, self.num_classes)
        return nearest_palette_index_torch(from_unit_range(decoded),
                                           self.palette)


def content_pixels(batch: dict, content: str) -> torch.Tensor:
    """The pixels a VAE of ``content`` autoencodes: masks, images or
    both (masks first)."""
    parts = {'masks': ['mask'], 'images': ['image'],
             'both': ['mask', 'image']}[content]
    return torch.cat([batch[k] for k in parts])
