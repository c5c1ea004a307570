"""Stage 2: label mask + text -> aerial image, a ControlNet on frozen SD."""
import contextlib
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from mmseg.registry import MODELS
from dldm_mmseg.datasets.transforms import from_unit_range
from dldm_mmseg.utils.class_weights import class_balanced_weights
from dldm_mmseg.utils.io import atomic_directory
from dldm_mmseg.utils.label_stats import class_shares
from dldm_mmseg.utils.mask_encoding import (check_onehot_classes,
                                            onehot_channels, onehot_pixels)
from dldm_mmseg.utils.palette import ignore_colour, index_to_rgb, rgb_to_index
from dldm_mmseg.utils.prompts import round_percents
from .base import DiffusionGenerator
from .components import (controlnet_conditioning_channels,
                         load_pretrained_into)
from .guidance import SEG_GUIDANCE_TIMESTEPS, segmentor_loss
from .share_conditioning import (add_share_embedding, inputs_of_rows,
                                 share_dropout, training_share_labels,
                                 unet_share_labels)


CONDITIONS = ('rgb', 'onehot')


def check_condition_channels(config, channels: int, condition: str,
                             folder: str) -> None:
    """Refuse a ControlNet whose condition input is not this model's.

    Raises:
        ValueError: Naming both channel counts and the fix.
    """
    theirs = config.get('conditioning_channels', 3)  # a dict or FrozenDict
    if theirs != channels:
        raise ValueError(
            f'the ControlNet in {folder} takes {theirs}-channel conditions, '
            f'this config\'s condition={condition!r} gives {channels}: set '
            'condition to what it was trained with (\'rgb\': 3 channels, '
            "'onehot': classes + 1)")


def check_latent_channels(config, channels: int, folder: str) -> None:
    """Refuse a ControlNet that draws in other latents than this model's
    UNet (and VAE).

    Raises:
        ValueError: Naming both channel counts and the fix.
    """
    theirs = config.get('in_channels', 4)
    if theirs != channels:
        raise ValueError(
            f'the ControlNet in {folder} was trained on {theirs}-channel '
            f'latents, this config\'s VAE and UNet have {channels}: give '
            'components.vae the VAE it was trained with')


def check_share_embedding(config, share_conditioned: bool, num_classes: int,
                          folder: str) -> None:
    """Refuse a ControlNet whose share embedding is not this model's.

    Raises:
        ValueError: Naming what the folder has, what the config asks for
            and the fix.
    """
    theirs = config.get('class_embed_type')
    size = config.get('projection_class_embeddings_input_dim')
    if not share_conditioned:
        if theirs is not None:
            raise ValueError(
                f'the ControlNet of {folder} takes a class embedding '
                f'({theirs!r}, {size} inputs): it was trained with '
                'share_conditioning; set share_conditioning=dict() in the '
                'config')
    elif theirs == 'projection' and size != num_classes + 1:
        raise ValueError(
            f'the ControlNet of {folder} has a share embedding for '
            f'{size - 1} classes, this model has {num_classes}: it was '
            'trained on another dataset; train stage 2 on this one')
    elif theirs != 'projection':
        raise ValueError(
            f'the ControlNet of {folder} has no share embedding for '
            f'{num_classes} classes (class_embed_type={theirs!r}, '
            f'{size} inputs; expected \'projection\' with '
            f'{num_classes + 1}): it was trained without '
            'share_conditioning; set share_conditioning=None in the config, '
            'or train with it')


def zero_initialised_convs(controlnet) -> list:
    """The convolutions ``ControlNetModel`` initialises to zero: one per
    down-block residual, the mid-block one and the last of the condition
    embedding."""
    return list(controlnet.controlnet_down_blocks) + [
        controlnet.controlnet_mid_block,
        controlnet.controlnet_cond_embedding.conv_out]


@MODELS.register_module()
class ControlNetImageGenerator(DiffusionGenerator):
    """Stage 2 of the paper: a ControlNet that paints the image of a mask.

    The ControlNet is initialised from the UNet (``ControlNetModel.from_unet``)
    and trained; SD stays frozen. The condition is the mask, in palette
    colours or one channel per class (``condition``); the prompt is the
    caption (+ share text). Loss: the
    noise-prediction MSE, plus optionally an image-space term on the decoded
    x0 (``image_loss_weight``; Algorithm 1 of the paper), weighted by
    timestep like the mask generator's x0 terms.

    Args:
        components (dict): See :class:`DiffusionGenerator`.
        controlnet (str, optional): A local ControlNet folder
            (``save_pretrained`` layout) to start from instead of the UNet.
        image_loss_weight (float): Weight of the x0 image term. Defaults to
            0 (standard ControlNet training).
        image_loss (str): ``'l1'`` or ``'mse'``. Defaults to ``'l1'``.
        train_unet (bool): Train the UNet together with the ControlNet
            (``sd_locked=False`` in the ControlNet authors' code). For
            random-weight presets, where a frozen UNet would be noise (the
            CPU demo); the UNet is then exported beside the ControlNet.
            Defaults to False (SD frozen, as in the paper).
        zero_convolutions (bool): Keep ControlNet's zero-initialised
            output and condition convolutions. They keep a pretrained UNet
            undisturbed at the start, but no gradient reaches the condition
            branch until the output convolutions have grown, which costs
            thousands of steps; with a random-weight UNet there is nothing
            to protect, and False gives them PyTorch's default
            initialisation. Ignored with ``controlnet``. Defaults to True.
        condition (str): How the mask enters the ControlNet: ``'rgb'``,
            its palette colours in [0, 1] (3 channels), or ``'onehot'``,
            one channel per class plus one for ignore pixels
            (``conditioning_channels = C + 1``), so the network never has
            to tell classes apart by colour. Recorded in the exported
            ControlNet's ``config.json``. Defaults to ``'rgb'``.
        class_balance (float): Weight each latent pixel's diffusion loss
            by the batch frequency of the mask's classes under it to the
            power ``-class_balance`` (the image VAE's weights, averaging 1
            over the valid pixels, pooled to the latent grid), so a class
            that covers a tenth of the pixels is not a tenth of the loss.
            Defaults to 0 (every latent pixel alike).
        share_conditioning (dict, optional): Give the ControlNet the
            mask's class-share vector as numbers too, embedded by a small
            MLP (zero-initialised output) and added to its timestep
            embedding (``class_embed_type='projection'`` in its
            ``config.json``), as the mask generator's option of the same
            name does for its UNet. Training uses each patch's shares (in
            whole percents, as its caption states them); painting measures
            them on the masks it is given, rounded the same way. ``dropout``
            (default 0.1) is the probability of the null shares; an empty
            prompt gets them too, so classifier-free guidance drops text
            and shares together. Defaults to None (the mask alone).
        **kwargs: See :class:`DiffusionGenerator`.
    """

    def __init__(self,
                 components: dict,
                 controlnet: Optional[str] = None,
                 image_loss_weight: float = 0.0,
                 image_loss: str = 'l1',
                 train_unet: bool = False,
                 zero_convolutions: bool = True,
                 condition: str = 'rgb',
                 share_conditioning: Optional[dict] = None,
                 class_balance: float = 0.0,
                 **kwargs) -> None:
        super().__init__(components, **kwargs)
        from diffusers import ControlNetModel
        if image_loss not in ('l1', 'mse'):
            raise ValueError(f'image_loss must be l1 or mse, got '
                             f'{image_loss!r}')
        if not isinstance(class_balance, (int, float)) or \
                isinstance(class_balance, bool) or class_balance < 0:
            raise ValueError(f'class_balance must be a number >= 0 (0: '
                             f'the plain loss), got {class_balance!r}')
        self.class_balance = float(class_balance)
        if condition not in CONDITIONS:
            raise ValueError(f'condition must be one of {CONDITIONS}, got '
                             f'{condition!r}')
        self.condition = condition
        if condition == 'onehot':
            check_onehot_classes(len(self.classes), "condition='onehot'")
        channels = 3 if condition == 'rgb' else onehot_channels(
            len(self.classes))
        if controlnet is not None:
            if not osp.isfile(osp.join(controlnet, 'config.json')):
                raise FileNotFoundError(
                    f'ControlNet folder {controlnet} has no config.json; '
                    'expected the output of ControlNetModel.save_pretrained '
                    '(config.json + diffusion_pytorch_model.safetensors)')
            self.controlnet = ControlNetModel.from_pretrained(
                controlnet, local_files_only=True, torch_dtype=torch.float32)
            check_condition_channels(self.controlnet.config, channels,
                                     condition, controlnet)
            check_latent_channels(self.controlnet.config,
                                  self.unet.config.in_channels, controlnet)
        else:
            self.controlnet = ControlNetModel.from_unet(
                self.unet, conditioning_embedding_out_channels=(
                    controlnet_conditioning_channels(self.vae_scale_factor)),
                conditioning_channels=channels)
            if not zero_convolutions:
                for conv in zero_initialised_convs(self.controlnet):
                    conv.reset_parameters()
        self.share_dropout = None
        if share_conditioning is not None:
            self.share_dropout = share_dropout(share_conditioning)
            if self.controlnet.class_embedding is None:
                add_share_embedding(self.controlnet, len(self.classes))
        check_share_embedding(self.controlnet.config, self.share_conditioned,
                              len(self.classes), controlnet or 'the UNet')
        self.controlnet.requires_grad_(True)
        self.controlnet.train()
        self.train_unet = train_unet
        self.unet.requires_grad_(train_unet)
        if self.gradient_checkpointing:
            self.controlnet.enable_gradient_checkpointing()
            if train_unet:
                self.unet.enable_gradient_checkpointing()
        self.image_loss_weight = image_loss_weight
        self.image_loss = image_loss
        self._finish_setup()

    @property
    def share_conditioned(self) -> bool:
        """Whether the ControlNet takes the mask's shares as numbers."""
        return self.share_dropout is not None

    def train(self, mode: bool = True):
        """Only the trained networks switch to training mode; the frozen
        parts of SD stay in eval."""
        super().train(mode)
        frozen = (self.vae, self.text_encoder) + (
            () if self.train_unet else (self.unet,))
        for module in frozen:
            module.eval()
        return self

    def loss(self, image: torch.Tensor, mask: torch.Tensor,
             prompt: Sequence[str], **kwargs) -> Dict[str, torch.Tensor]:
        latents = self.encode_pixels(image, kwargs.get('view'))
        noisy, noise, t = self.add_noise(latents)
        embeddings = self.encode_prompt(prompt)
        # Each network gets inputs in its own dtype: the trainable
        # ControlNet is fp32, the frozen UNet may be fp16/bf16.
        cn_dtype, unet_dtype = self.controlnet.dtype, self.unet.dtype
        if self.condition == 'rgb':
            condition = (mask.float() + 1) / 2
        elif kwargs.get('label') is None:
            raise ValueError('condition=\'onehot\' trains on the label maps '
                             '(the batch\'s "label"); MaskCaptionDataset '
                             'gives them')
        else:
            condition = self._onehot_condition(kwargs['label'])
        condition = condition.to(device=noisy.device, dtype=cn_dtype)
        extra = {}
        if self.share_conditioned:
            if kwargs.get('target_shares') is None:
                raise ValueError('share_conditioning trains on the batch\'s '
                                 '"target_shares"; MaskCaptionDataset gives '
                                 'them')
            extra['class_labels'] = training_share_labels(
                kwargs['target_shares'], prompt, self.share_dropout,
                self.controlnet, t.device)
        down, mid = self.controlnet(
            noisy.to(cn_dtype), t,
            encoder_hidden_states=embeddings.to(cn_dtype),
            controlnet_cond=condition, return_dict=False, **extra)
        pred = self.unet(
            noisy.to(unet_dtype), t, embeddings.to(unet_dtype),
            down_block_additional_residuals=[r.to(unet_dtype) for r in down],
            mid_block_additional_residual=mid.to(unet_dtype)).sample
        losses = {'loss_diffusion': self.diffusion_loss(
            pred, latents, noise, t, self._latent_class_weights(
                kwargs.get('label'), latents.shape[-2:]))}
        if self.image_loss_weight:
            weights = self.x0_weights(t)
            keep, decoded = self.decode_weighted_x0(noisy, pred, t, weights)
            if decoded is None:
                losses['loss_image'] = pred.float().sum() * 0
                return losses
            distance = F.l1_loss if self.image_loss == 'l1' else F.mse_loss
            per_sample = distance(decoded.float(), image[keep].float(),
                                  reduction='none').flatten(1).mean(1)
            losses['loss_image'] = self.image_loss_weight * (
                weights[keep] * per_sample).sum() / weights.numel()
        return losses

    # -- inference ---------------------------------------------------------
    @torch.no_grad()
    def predict(self, mask: torch.Tensor, prompt: Sequence[str],
                label: Optional[torch.Tensor] = None,
                sample_id: Optional[Sequence[str]] = None,
                **kwargs) -> list:
        """Images painted for a batch of (held-out) masks:
        ``forward(mode='predict')``.

        Returns:
            list[SegDataSample]: ``gt_sem_seg`` (the condition's label map)
            and the generated ``image`` (``H x W x 3`` uint8) with
            ``prompt``, ``seed`` and ``sample_id`` in the metainfo, for
            image metrics (FID, mask-image consistency).
        """
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        prompts = list(prompt)
        ids = list(sample_id) if sample_id is not None else \
            [str(i) for i in range(len(prompts))]
        seeds = self.sample_seeds(ids, offset=1)  # not the masks' noise
        masks = label.cpu().numpy() if self.condition == 'onehot' and \
            label is not None else from_unit_range(mask).cpu().numpy()
        images = self.generate_images(masks, prompts, seeds,
                                      batch_size=len(prompts))
        samples = []
        for i, image in enumerate(images):
            sample = SegDataSample(metainfo=dict(
                prompt=prompts[i], seed=seeds[i], sample_id=ids[i],
                image=image))
            if label is not None:
                sample.gt_sem_seg = PixelData(data=label[i][None].cpu())
            samples.append(sample)
        return samples

    pipeline_class = 'StableDiffusionControlNetPipeline'

    def _latent_class_weights(self, labels: Optional[torch.Tensor],
                              size) -> Optional[torch.Tensor]:
        """``class_balance``'s weights of the ``N x H x W`` labels,
        average-pooled to the latent ``size``; None without
        ``class_balance``."""
        if not self.class_balance:
            return None
        if labels is None:
            raise ValueError('class_balance weighs the loss by the batch\'s '
                             '"label" maps; MaskCaptionDataset gives them')
        weights = class_balanced_weights(labels.long(), len(self.classes),
                                         self.class_balance)
        return F.adaptive_avg_pool2d(weights[:, None], tuple(size))[:, 0]

    def _extra_pipeline_modules(self) -> dict:
        return dict(controlnet=self.controlnet)

    def _onehot_condition(self, labels: torch.Tensor) -> torch.Tensor:
        """``N x H x W`` class indices -> ``N x (C + 1) x H x W`` one-hot
        conditions in {0, 1} (ignore in the last channel)."""
        return (onehot_pixels(labels.long(), len(self.classes)) + 1) / 2

    def condition_images(self, masks: np.ndarray) -> torch.Tensor:
        """``N x H x W`` class indices (255 = ignore), or ``N x H x W x 3``
        colour masks with ``condition='rgb'`` -> ``N x K x H x W``
        conditions in [0, 1] (K = 3, or C + 1 one-hot channels)."""
        masks = np.asarray(masks)
        if self.condition == 'onehot':
            if masks.ndim != 3:
                raise ValueError(
                    f'condition=\'onehot\' paints from class indices '
                    f'(N x H x W), got masks of shape {masks.shape}')
            return self._onehot_condition(torch.from_numpy(masks))
        rgb = masks if masks.ndim == 4 else index_to_rgb(masks, self.palette)
        return torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 255.0

    @torch.no_grad()
    def generate_images(self,
                        masks: np.ndarray,
                        prompts: Sequence[str],
                        seeds: Sequence[int],
                        steps: Optional[int] = None,
                        guidance_scale: Optional[float] = None,
                        scheduler: Optional[str] = None,
                        conditioning_scale: float = 1.0,
                        batch_size: int = 8,
                        seg_guidance: Optional[dict] = None) -> np.ndarray:
        """Paint an image for each mask.

        Args:
            masks: ``N x H x W`` class indices 0..C-1 (255 = ignore) or,
                with ``condition='rgb'``, ``N x H x W x 3`` palette-colour
                masks.
            prompts: One prompt per mask (caption and/or share text).
            seeds: One seed per sample; sample ``i`` gives the same output
                whatever the batch it is in.
            seg_guidance (dict, optional): Segmentor guidance (see
                :meth:`segmentor_guidance`): ``segmentor`` (a callable from
                ``N x 3 x H x W`` RGB images in [-1, 1] to ``N x C x H x
                W`` class logits, differentiable), ``scale`` (0 = off) and
                ``timesteps`` (the guided range, default ``(600, 1000)``:
                the first steps, where the layout is decided). Needs
                ``masks`` as class indices.

        Returns:
            np.ndarray: ``N x H x W x 3`` uint8 images.
        """
        condition = self.condition_images(masks)
        if len(condition) != len(prompts):
            raise ValueError(f'{len(condition)} masks but {len(prompts)} '
                             'prompts')
        height, width = condition.shape[-2:]
        guide = dict(seg_guidance or {})
        # each context is told each batch's slice of the samples
        with contextlib.ExitStack() as stack:
            aims = []
            if self.share_conditioned:
                rows = self.mask_shares(masks)
                rows[[not p for p in prompts]] = np.nan  # as in training
                aims.append(stack.enter_context(unet_share_labels(
                    self.controlnet, inputs_of_rows(
                        rows, self.controlnet.device))))
            if guide.get('scale'):
                if np.asarray(masks).ndim != 3:
                    raise ValueError(
                        'seg_guidance compares the segmentor with class '
                        'indices: give masks as N x H x W class indices, '
                        f'got shape {np.asarray(masks).shape}')
                aims.append(stack.enter_context(self.segmentor_guidance(
                    torch.from_numpy(np.asarray(masks)), **guide)))
            return self.sample(
                prompts, seeds, height, width, steps, guidance_scale,
                scheduler, batch_size, per_sample=dict(image=condition),
                on_batch=aims,
                controlnet_conditioning_scale=conditioning_scale)

    def mask_shares(self, masks: np.ndarray) -> np.ndarray:
        """``N x C`` class shares of ``N x H x W`` class indices (or
        ``N x H x W x 3`` palette-colour masks) over their valid pixels, in
        whole percents as the training captions state them; a mask without
        a valid pixel gets a NaN row (the null shares)."""
        masks = np.asarray(masks)
        if masks.ndim == 4:
            masks = np.stack([rgb_to_index(
                m, self.palette, ignore_colors=[ignore_colour(self.palette)],
                off_palette='nearest') for m in masks])
        rows = np.full((len(masks), len(self.classes)), np.nan, np.float32)
        for row, mask in zip(rows, masks):
            shares = class_shares(mask, len(self.classes))
            if shares.sum() > 0:
                row[:] = round_percents(shares) / 100.0
        return rows

    def segmentor_guidance(self, labels: torch.Tensor, segmentor,
                           scale: float,
                           timesteps: Sequence[int] = SEG_GUIDANCE_TIMESTEPS):
        """A context in which sampling at ``timesteps`` (both ends
        included) moves each image's x0 against the gradient of
        :func:`~.guidance.segmentor_loss`: ``segmentor``'s cross-entropy on
        the decoded image against ``labels`` (``N x H x W``), on the pixels
        it misclassifies (see :meth:`x0_guidance`)."""
        def loss_of(x0, part):
            logits = segmentor(self.decode_latents(x0).float())
            return segmentor_loss(logits, labels[part].to(logits.device))

        return self.x0_guidance(loss_of, scale, timesteps)

    def export(self, out_dir: str) -> str:
        """``ControlNetModel.save_pretrained`` into ``out_dir`` (EMA weights
        when enabled), atomically; with ``train_unet`` the UNet too, in
        ``out_dir/unet``."""
        with self.ema_weights(), atomic_directory(out_dir) as tmp:
            self.controlnet.save_pretrained(tmp, safe_serialization=True)
            if self.train_unet:
                self.unet.save_pretrained(osp.join(tmp, 'unet'),
                                          safe_serialization=True)
        return osp.abspath(out_dir)

    def _load_export(self, path: str) -> None:
        """Load ControlNet (and trained UNet) weights written by
        :meth:`export`.

        Raises:
            FileNotFoundError: When ``path`` is not a ControlNet folder, or
                lacks the ``unet`` of a ``train_unet`` config.
            ValueError: When its architecture differs from this model's.
        """
        from diffusers import ControlNetModel, UNet2DConditionModel
        if not osp.isfile(osp.join(path, 'config.json')):
            raise FileNotFoundError(
                f'{path} is not a ControlNet folder (no config.json); point '
                'at work_dir/export/final of a stage-2 run')
        config = ControlNetModel.load_config(path)
        check_condition_channels(config, self.controlnet.config.
                                 conditioning_channels, self.condition, path)
        check_latent_channels(config, self.unet.config.in_channels, path)
        check_share_embedding(config, self.share_conditioned,
                              len(self.classes), path)
        parts = [(self.controlnet, ControlNetModel, path)]
        unet_dir = osp.join(path, 'unet')
        if osp.isdir(unet_dir):
            parts.append((self.unet, UNet2DConditionModel, unet_dir))
        elif self.train_unet:
            raise FileNotFoundError(
                f'{path} has no unet/ folder, but this config trains the UNet '
                '(train_unet=True); export the stage-2 run with this config')
        load_pretrained_into(parts, path)
