"""Stage 1: text -> colour label mask, Stable Diffusion + LoRA."""
import contextlib
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.structures import PixelData

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from dldm_mmseg.models.losses import (PROP_ESTIMATORS, ProportionAwareLoss,
                                      mask_ce_and_prop)
from dldm_mmseg.utils.io import atomic_directory
from dldm_mmseg.utils.mask_encoding import (encoding_of, onehot_index,
                                            onehot_logits, onehot_pixels)
from dldm_mmseg.utils.palette import (index_to_rgb, palette_logits,
                                      palette_quantiser,
                                      soft_share_calibration)
from dldm_mmseg.utils.prompts import check_share_prompt, format_class_shares
from .adapters import UNET_LORA_TARGETS, add_lora, export_lora, load_lora
from .base import DiffusionGenerator
from .components import load_pretrained_into
from .guidance import guidance_loss, prompt_targets
from .share_conditioning import (SHARE_EMBEDDING_FILE, add_share_embedding,
                                 check_share_vectors, export_share_embedding,
                                 inputs_of_rows, load_share_embedding,
                                 measured_rows, share_dropout,
                                 training_share_labels, unet_share_labels)


@MODELS.register_module()
class LoRAMaskGenerator(DiffusionGenerator):
    """Stage 1 of the paper: a LoRA-tuned SD that draws colour label masks.

    Loss = diffusion loss + ``ce_weight`` x CE + ``prop_weight`` x L_prop
    (paper: 0.5 / 0.5). CE and L_prop are computed on the VAE-decoded x0
    prediction, turned into class probabilities by a softmax over negative
    squared distances to the palette colours (``temperature``), or, with a
    mask VAE of one channel per class plus ignore (``tools/fit_vae.py
    --mask-encoding onehot``), by a softmax over its channels; each
    sample's x0 terms are weighted by its timestep (see ``x0_weighting``),
    and samples with an empty prompt (classifier-free guidance dropout) get
    none. L_prop compares the soft class shares with the shares stated in
    the prompt (``target_shares``) over the valid pixels.

    Args:
        components (dict): See :class:`DiffusionGenerator`.
        lora_rank (int, optional): LoRA rank. Defaults to 32 (the
            paper's). None trains every weight of the UNet (and of the text
            encoder with ``train_text_encoder``) instead: full fine-tuning,
            for random-weight presets where there is no pretrained model for
            LoRA to adapt (the CPU demo).
        lora_alpha (float, optional): LoRA alpha. Defaults to the rank.
        lora_targets (Sequence[str]): UNet modules to adapt. Defaults to
            the attention projections.
        train_text_encoder (bool): Also train the text encoder (LoRA, or
            fully when ``lora_rank`` is None). Defaults to False.
        ce_weight (float): Weight of the pixel-wise CE. Defaults to 0.5.
        ce_class_weight (Sequence[float], optional): One weight per class
            in the pixel-wise CE (a sample's CE is the weighted mean over
            its pixels), e.g. to make a rare class's pixels count more.
            Defaults to None (equal weights).
        prop_weight (float): Weight of L_prop. Defaults to 0.5.
        temperature (float): Temperature of the palette logits, relative to
            the smallest distance between two palette colours (see
            :func:`~dldm_mmseg.utils.palette.palette_logits`). Defaults to
            0.25.
        prop_timestep_weighting (bool): Weight L_prop by timestep like CE
            (``x0_weighting``, ``x0_max_timestep``); False gives every
            timestep full weight. Defaults to True.
        prop_max_timestep (int, optional): Only timesteps below this get
            L_prop, in place of ``x0_max_timestep``, so L_prop can reach
            higher noise than CE (where the layout, and so the shares, is
            decided). Defaults to None: ``x0_max_timestep`` with
            ``prop_timestep_weighting``, every timestep without.
        prop_estimator (str): ``'soft'`` (the paper's: shares are the mean
            softmax probabilities, value and gradient),
            ``'straight_through'`` (value from the hard shares, gradient from
            the soft ones) or ``'calibrated'`` (soft shares against the soft
            shares a perfectly drawn mask of the target shares has,
            :func:`~dldm_mmseg.utils.palette.soft_share_calibration`, so a
            perfect mask has L_prop = 0). Defaults to ``'soft'``.
        prop_class_reduction (str): ``'sum'`` over classes (the L1 distance
            between share vectors, 0..2, on the scale of CE, so the paper's
            0.5 / 0.5 weights balance the two) or ``'mean'`` (the paper's
            1/|C| sum, |C| times smaller). Defaults to ``'sum'``.
        quantisation (dict, optional): How decoded colours become classes
            in :meth:`generate_masks`: ``dict(type='nearest')`` (nearest
            palette colour, the default) or ``dict(type='neighbourhood',
            window=5, confident=0.25)``, where a pixel may only take a
            class drawn confidently around it, so the blend of two classes'
            colours at their border cannot become a third class (see
            :func:`~dldm_mmseg.utils.palette.palette_quantiser`). With a
            one-hot mask VAE, each pixel takes its largest channel
            (``dict(type='argmax')``, the only choice there).
        share_conditioning (dict, optional): Numeric share conditioning
            beside the text: the target share vector, embedded by a small
            MLP with a zero-initialised output layer, is added to the
            timestep embedding (diffusers' ``class_embed_type=
            'projection'``, see :mod:`.share_conditioning`); trained beside
            the LoRA (or the whole UNet) and exported with it. Training
            uses each patch's ``target_shares``; ``dropout`` (default 0.1)
            is the probability of the null shares for a sample with a
            prompt, and a sample whose prompt the dataset dropped gets the
            null shares too, so classifier-free guidance drops text and
            shares together. Defaults to None (text only, the paper's).
        **kwargs: See :class:`DiffusionGenerator`.
    """

    def __init__(self,
                 components: dict,
                 lora_rank: Optional[int] = 32,
                 lora_alpha: Optional[float] = None,
                 lora_targets: Sequence[str] = UNET_LORA_TARGETS,
                 train_text_encoder: bool = False,
                 ce_weight: float = 0.5,
                 prop_weight: float = 0.5,
                 ce_class_weight: Optional[Sequence[float]] = None,
                 temperature: float = 0.25,
                 prop_timestep_weighting: bool = True,
                 prop_max_timestep: Optional[int] = None,
                 prop_estimator: str = 'soft',
                 prop_class_reduction: str = 'sum',
                 quantisation: Optional[dict] = None,
                 share_conditioning: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(components, **kwargs)
        self.quantise = self._quantiser(quantisation)
        self.full_finetune = lora_rank is None
        self.train_text_encoder = train_text_encoder
        self.lora_config = self.text_lora_config = None
        if self.full_finetune:
            self.unet.requires_grad_(True)
            if train_text_encoder:
                self.text_encoder.requires_grad_(True)
        else:
            self.lora_config, self.text_lora_config = add_lora(
                self.unet, self.text_encoder if train_text_encoder else None,
                lora_rank, lora_alpha, lora_targets)
        if self.gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()
            if train_text_encoder:  # transformers 5 renamed the method
                getattr(self.text_encoder, 'activation_checkpointing_enable',
                        self.text_encoder.gradient_checkpointing_enable)()
        self.ce_weight = ce_weight
        self.prop_weight = prop_weight
        self.ce_class_weight = self._ce_class_weight(ce_class_weight)
        self.temperature = temperature
        self.prop_timestep_weighting = prop_timestep_weighting
        if prop_max_timestep is not None and prop_max_timestep <= 0:
            raise ValueError(f'prop_max_timestep must be > 0 or None, got '
                             f'{prop_max_timestep}')
        self.prop_max_timestep = prop_max_timestep
        if prop_estimator not in PROP_ESTIMATORS:
            raise ValueError(f'prop_estimator must be one of '
                             f'{PROP_ESTIMATORS}, got {prop_estimator!r}')
        if prop_estimator == 'calibrated' and self.pixel_encoding == 'onehot':
            raise ValueError("prop_estimator='calibrated' corrects the "
                             'palette softmax; a one-hot mask VAE has none: '
                             "use 'soft' or 'straight_through'")
        self.prop_estimator = prop_estimator
        self.prop_loss = ProportionAwareLoss(
            reduction='none', class_reduction=prop_class_reduction)
        self.share_dropout = None
        if share_conditioning is not None:
            self.share_dropout = share_dropout(share_conditioning)
            add_share_embedding(self.unet, len(self.classes))
        self._finish_setup()

    def _pixel_encoding(self, vae, folder: Optional[str]) -> str:
        """Palette colours (3 channels) or one-hot masks (one channel per
        class plus ignore)."""
        return encoding_of(vae, len(self.classes))

    def _quantiser(self, quantisation: Optional[dict]):
        """Decoded ``N x H x W x channels`` uint8 pixels -> class indices
        (255 = ignore)."""
        if self.pixel_encoding == 'rgb':
            return palette_quantiser(self.palette, quantisation)
        if dict(quantisation or dict(type='argmax')) != dict(type='argmax'):
            raise ValueError(f'a one-hot mask VAE quantises by argmax; '
                             f'quantisation={quantisation!r} is for RGB '
                             'masks')
        return lambda pixels: onehot_index(pixels.permute(0, 3, 1, 2),
                                           len(self.classes))

    def mask_pixels(self, mask: torch.Tensor, label: torch.Tensor
                    ) -> torch.Tensor:
        """What the VAE encodes: the palette-coloured ``mask``, or the
        one-hot ``label``, in [-1, 1]."""
        if self.pixel_encoding == 'rgb':
            return mask
        return onehot_pixels(label, len(self.classes)).to(mask)

    def mask_logits(self, decoded: torch.Tensor) -> torch.Tensor:
        """Class logits (``C + 1`` columns, ignore last) of decoded masks
        in [-1, 1]."""
        if self.pixel_encoding == 'onehot':
            return onehot_logits(decoded)
        return palette_logits((decoded.float() + 1) / 2, self.palette,
                              self.temperature, with_ignore=True)

    @property
    def share_conditioned(self) -> bool:
        """Whether the UNet takes the target shares as numbers."""
        return self.share_dropout is not None

    # -- training ----------------------------------------------------------
    def loss(self, mask: torch.Tensor, label: torch.Tensor,
             prompt: Sequence[str], target_shares: torch.Tensor,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Diffusion loss plus CE and L_prop on the decoded x0 mask."""
        latents = self.encode_pixels(self.mask_pixels(mask, label),
                                     kwargs.get('view'))
        noisy, noise, t = self.add_noise(latents)
        embeddings = self.encode_prompt(prompt)
        dtype = self.unet.dtype  # frozen base; LoRA layers cast for themselves
        has_prompt = torch.tensor([bool(p) for p in prompt], device=t.device,
                                  dtype=torch.float32)
        extra = {}
        if self.share_conditioned:
            extra['class_labels'] = training_share_labels(
                target_shares, prompt, self.share_dropout, self.unet,
                t.device)
        pred = self.unet(noisy.to(dtype), t, embeddings.to(dtype),
                         **extra).sample
        losses = {'loss_diffusion': self.diffusion_loss(
            pred, latents, noise, t)}
        if not (self.ce_weight or self.prop_weight):
            return losses
        by_timestep = self.x0_weights(t)
        ce_weights = by_timestep * has_prompt * bool(self.ce_weight)
        prop_weights = has_prompt * bool(self.prop_weight)
        if self.prop_max_timestep is not None:
            prop_weights = prop_weights * (t < self.prop_max_timestep)
            if self.prop_timestep_weighting:
                prop_weights = prop_weights * self.x0_weights(
                    t, max_timestep=None)
        elif self.prop_timestep_weighting:
            prop_weights = prop_weights * by_timestep
        # x0 terms are means over the whole batch; samples without weight
        # in either term are not decoded
        batch = t.numel()
        keep, rgb = self.decode_weighted_x0(noisy, pred, t,
                                            ce_weights + prop_weights)
        if rgb is None:
            zero = pred.float().sum() * 0
            losses.update({name: zero for name, weight in (
                ('loss_ce', self.ce_weight), ('loss_prop', self.prop_weight))
                if weight})
            return losses
        label = label[keep]
        ce, prop = self.x0_mask_losses(rgb, label, target_shares[keep])
        if self.ce_weight:
            losses['loss_ce'] = \
                self.ce_weight * (ce_weights[keep] * ce).sum() / batch
        if self.prop_weight:
            losses['loss_prop'] = \
                self.prop_weight * (prop_weights[keep] * prop).sum() / batch
        return losses

    def x0_mask_losses(self, rgb: torch.Tensor, label: torch.Tensor,
                       target_shares: torch.Tensor):
        """Per-sample CE and L_prop (:func:`mask_ce_and_prop` with this
        model's ``prop_estimator``) of decoded masks ``rgb`` (``N x 3 x H x
        W`` in [-1, 1], or ``N x (C + 1) x H x W`` with a one-hot mask
        VAE) against ``label`` (``N x H x W``, 255 = ignore) and the
        prompts' ``target_shares`` (``N x C``)."""
        calibration = soft_share_calibration(
            self.palette, self.temperature) \
            if self.prop_estimator == 'calibrated' else None
        return mask_ce_and_prop(self.mask_logits(rgb), label, target_shares,
                                self.prop_loss, self.prop_estimator,
                                calibration, self.ce_class_weight)

    def _ce_class_weight(self, weights) -> Optional[torch.Tensor]:
        """``ce_class_weight`` as a tensor, checked against the classes."""
        if weights is None:
            return None
        weights = torch.as_tensor(weights, dtype=torch.float32)
        classes = len(self.palette)
        if weights.shape != (classes,) or not bool((weights > 0).all()):
            raise ValueError(
                f'ce_class_weight must hold one weight > 0 per class '
                f'({classes}), got {weights.tolist()}')
        return weights

    # -- inference ---------------------------------------------------------
    @torch.no_grad()
    def predict(self, prompt: Sequence[str], target_shares: torch.Tensor,
                label: Optional[torch.Tensor] = None,
                sample_id: Optional[Sequence[str]] = None, **kwargs) -> list:
        """Masks for a batch of (held-out) patches' prompts: what the val
        and test loops call (``forward(mode='predict')``).

        Returns:
            list[SegDataSample]: ``pred_sem_seg`` (class indices, 255 where
            the mask is drawn in the ignore colour) with ``target_shares``
            (the prompt's shares, which ``ClassProportionMetric`` compares
            with), ``prompt``, ``seed`` and ``sample_id`` in the metainfo.
            The real label map is not attached: a generated mask is not
            drawn to match its pixels, only its shares.
        """
        prompts = list(prompt)
        ids = list(sample_id) if sample_id is not None else \
            [str(i) for i in range(len(prompts))]
        height, width = (label.shape[-2:] if label is not None
                         else (512, 512))
        seeds = self.sample_seeds(ids)
        out = self.generate_masks(prompts, seeds,
                                  class_shares=measured_rows(target_shares),
                                  height=int(height), width=int(width),
                                  batch_size=len(prompts))
        samples = []
        for i, labels in enumerate(out['labels']):
            sample = SegDataSample(metainfo=dict(
                target_shares=target_shares[i].tolist(), prompt=prompts[i],
                seed=seeds[i], sample_id=ids[i]))
            sample.pred_sem_seg = PixelData(
                data=torch.from_numpy(labels.astype(np.int64))[None])
            samples.append(sample)
        return samples

    def prompts_from_shares(self, class_shares) -> List[str]:
        """Share text prompts (``building: 30%, ...``) from share rows."""
        return [format_class_shares(row, self.classes) for row in class_shares]

    def proportion_guidance(self, targets: torch.Tensor, scale: float,
                            max_timestep: int = 400):
        """A context in which sampling at timesteps ``<= max_timestep`` is
        guided toward ``targets`` (``N x C`` shares; NaN rows unguided) by
        :func:`~.guidance.guidance_loss` of the decoded x0 (see
        :meth:`x0_guidance`)."""
        def loss_of(x0, part):
            logits = self.mask_logits(self.decode_latents(x0))
            return guidance_loss(logits, targets[part].to(x0.device))

        return self.x0_guidance(loss_of, scale, (0, max_timestep))

    @torch.no_grad()
    def generate_masks(self,
                       prompts: Optional[Sequence[str]] = None,
                       seeds: Sequence[int] = (0,),
                       class_shares=None,
                       height: int = 512,
                       width: int = 512,
                       steps: Optional[int] = None,
                       guidance_scale: Optional[float] = None,
                       scheduler: Optional[str] = None,
                       batch_size: int = 8,
                       prop_guidance: Optional[dict] = None
                       ) -> Dict[str, np.ndarray]:
        """Generate colour masks and their class-index maps.

        Args:
            prompts: Text prompts, or None with ``class_shares`` (rows of
                shares in class order, or dicts class -> share), whose share
                text becomes the prompts.
            seeds: One seed per sample; sample ``i`` gives the same output
                whatever the batch it is in.
            height, width: Output size in pixels.
            steps, guidance_scale, scheduler: Sampling settings; defaults
                from ``inference_cfg``.
            batch_size: Samples per forward pass.
            class_shares: With ``prompts``, the target shares of a generator
                with numeric share conditioning (rows in class order, each
                summing to 1; a NaN row: no share condition); without, a
                share-conditioned generator reads them from the prompts'
                share text. Not used by a text-only generator.
            prop_guidance (dict, optional): Proportion guidance while
                sampling (see :meth:`proportion_guidance`): ``scale``
                (0 = off), ``max_timestep`` (guide the steps at or below
                it; default 400). Targets are the prompts' share text.

        Returns:
            dict: ``labels`` (N x H x W uint8: the class index 0..C-1 the
            generator's ``quantisation`` gives each pixel, or 255 where
            that is the reserved ignore colour), ``rgb`` (N x H x W x 3
            uint8 raw output; with a one-hot mask VAE, the labels in the
            palette colours) and ``prompts``.
        """
        if class_shares is not None and len(class_shares) and isinstance(
                class_shares[0], dict):
            class_shares = [[row.get(c, 0.0) for c in self.classes]
                            for row in class_shares]
        if prompts is None:
            if class_shares is None:
                raise ValueError('give prompts or class_shares')
            prompts = self.prompts_from_shares(class_shares)
        prompts = list(prompts)
        for i, prompt in enumerate(prompts):
            try:
                check_share_prompt(prompt, self.classes)
            except ValueError as e:
                raise ValueError(f'prompt {i} of generate_masks: {e}') from e

        def quantise(pixels: torch.Tensor):
            labels = self.quantise(pixels).cpu().numpy()
            if self.pixel_encoding == 'onehot':  # shown in the palette
                return index_to_rgb(labels, self.palette), labels
            return pixels.cpu().numpy(), labels

        guide = dict(prop_guidance or {})
        scale = float(guide.pop('scale', 0.0))
        # each context is told each batch's slice of the samples
        with contextlib.ExitStack() as stack:
            aims = []
            if self.share_conditioned:
                rows = check_share_vectors(
                    prompt_targets(prompts, self.classes)
                    if class_shares is None else class_shares, prompts,
                    self.classes)
                aims.append(stack.enter_context(unet_share_labels(
                    self.unet, inputs_of_rows(rows, self.unet.device))))
            if scale:
                aims.append(stack.enter_context(self.proportion_guidance(
                    prompt_targets(prompts, self.classes), scale, **guide)))
            rgb, labels = self.sample(
                prompts, seeds, height, width, steps, guidance_scale,
                scheduler, batch_size, postprocess=quantise,
                on_batch=aims)
        return dict(rgb=rgb, labels=labels, prompts=np.asarray(prompts))

    # -- export ------------------------------------------------------------
    def _fully_trained(self) -> dict:
        """Export folder name -> network, for full fine-tuning."""
        parts = dict(unet=self.unet)
        if self.train_text_encoder:
            parts['text_encoder'] = self.text_encoder
        return parts

    def export(self, out_dir: str) -> str:
        """Write the LoRA weights as ``pytorch_lora_weights.safetensors`` that
        stock ``StableDiffusionPipeline.load_lora_weights(out_dir)`` reads
        (EMA weights when enabled). Atomic: the folder appears complete.

        With full fine-tuning (``lora_rank=None``) the trained networks are
        written with ``save_pretrained`` into ``unet/`` (and
        ``text_encoder/``) instead, the diffusers layout of those parts.
        With numeric share conditioning, a LoRA export also holds
        ``share_embedding.safetensors`` (the UNet's projection class
        embedding); a fully fine-tuned ``unet/`` holds it in its weights
        and config.
        """
        with self.ema_weights(), atomic_directory(out_dir) as tmp:
            if self.full_finetune:
                for name, module in self._fully_trained().items():
                    module.save_pretrained(osp.join(tmp, name),
                                           safe_serialization=True)
            else:
                export_lora(tmp, self.unet, self.lora_config,
                            self.text_encoder if self.train_text_encoder
                            else None, self.text_lora_config)
                if self.share_conditioned:
                    export_share_embedding(self.unet, self.classes, tmp)
        return osp.abspath(out_dir)

    def _load_export(self, path: str) -> None:
        """Load the weights :meth:`export` wrote (or any diffusers LoRA for
        this architecture).

        Raises:
            FileNotFoundError: When ``path`` lacks the LoRA weights file, a
                fully fine-tuned network, or the share embedding of a
                share-conditioned config.
            ValueError: When the weights do not fit this model (another
                rank, targets or base architecture, share conditioning on
                one side only), naming the export.
        """
        if self.full_finetune:
            parts = []
            for name, module in self._fully_trained().items():
                folder = osp.join(path, name)
                if not osp.isfile(osp.join(folder, 'config.json')):
                    raise FileNotFoundError(
                        f'{folder} does not exist: this config fine-tunes '
                        f'the {name} fully (lora_rank=None); point at '
                        'work_dir/export/final of a run of this config')
                parts.append((module, type(module), folder))
            self._check_share_conditioning(path)
            load_pretrained_into(parts, path)
            return
        if self.share_conditioned:
            load_share_embedding(self.unet, self.classes, path)
        elif osp.isfile(osp.join(path, SHARE_EMBEDDING_FILE)):
            raise ValueError(
                f'{path} was trained with numeric share conditioning '
                f'({SHARE_EMBEDDING_FILE}); set share_conditioning=dict() '
                'in the model config to load it')
        load_lora(path, self.unet,
                  self.text_encoder if self.train_text_encoder else None)

    def _check_share_conditioning(self, path: str) -> None:
        """A fully fine-tuned export's UNet must take the target shares
        exactly when this config does."""
        with open(osp.join(path, 'unet', 'config.json')) as f:
            exported = json.load(f).get('class_embed_type') == 'projection'
        if exported != self.share_conditioned:
            raise ValueError(
                f'{path} was trained {"with" if exported else "without"} '
                'numeric share conditioning, this config is the other way; '
                'set share_conditioning=' +
                ('dict()' if exported else 'None') + ' in the model config')
