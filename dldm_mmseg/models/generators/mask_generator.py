"""Stage 1: text -> colour label mask, Stable Diffusion + LoRA."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F

from mmseg.registry import MODELS
from dldm_mmseg.models.losses import ProportionAwareLoss
from dldm_mmseg.utils.mask_encoding import (encoding_of, onehot_index,
                                            onehot_logits, onehot_pixels)
from dldm_mmseg.utils.palette import (palette_logits, palette_quantiser,
                                      soft_share_calibration)
from .base import DiffusionGenerator
from .mask_export import MaskExportMixin
from .mask_guidance import ProportionGuidanceMixin
from .mask_sampling import MaskSamplingMixin
from .share_conditioning import (add_share_embedding, embedding_dtype,
                                 share_inputs)

UNET_LORA_TARGETS = ('to_k', 'to_q', 'to_v', 'to_out.0')
TEXT_LORA_TARGETS = ('q_proj', 'k_proj', 'v_proj', 'out_proj')


@MODELS.register_module()
class LoRAMaskGenerator(MaskSamplingMixin, ProportionGuidanceMixin,
                        MaskExportMixin, DiffusionGenerator):
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
        prop_weight (float): Weight of L_prop. Defaults to 0.5.
        temperature (float): Temperature of the palette logits, relative to
            the smallest distance between two palette colours (see
            :func:`~dldm_mmseg.utils.palette.palette_logits`). Defaults to
            0.25: a pixel on a colour is 4 nats more likely that class than
            the next, and a confidently wrong pixel keeps a CE gradient of
            ~11 (per unit colour), where a much colder softmax saturates
            and gives it none.
        prop_timestep_weighting (bool): Weight L_prop by timestep like CE
            (``x0_weighting``, ``x0_max_timestep``). False gives every
            timestep full weight: at high noise the decoded x0 is a blur
            that says nothing pixel-wise (so CE is down-weighted there), but
            its class shares are what the model would draw for the prompt,
            which is what L_prop should teach. Defaults to True (one
            weighting for both terms).
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
            perfect mask has L_prop = 0; plain soft shares are biased toward
            uniform and ask a perfect mask for less of its rare classes).
            Defaults to ``'soft'`` (the paper's estimator; the comparison
            is in docs/results/history.md#what-l_prop-does-here).
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
        from peft import LoraConfig
        if lora_rank is not None and lora_rank <= 0:
            raise ValueError(f'lora_rank must be > 0 (or None for full '
                             f'fine-tuning), got {lora_rank}')
        self.full_finetune = lora_rank is None
        self.train_text_encoder = train_text_encoder
        self.lora_config = self.text_lora_config = None
        if self.full_finetune:
            self.unet.requires_grad_(True)
            if train_text_encoder:
                self.text_encoder.requires_grad_(True)
        else:
            self.lora_config = LoraConfig(
                r=lora_rank, lora_alpha=lora_alpha or lora_rank,
                init_lora_weights='gaussian',
                target_modules=list(lora_targets))
            self.unet.add_adapter(self.lora_config)
            if train_text_encoder:
                self.text_lora_config = LoraConfig(
                    r=lora_rank, lora_alpha=lora_alpha or lora_rank,
                    init_lora_weights='gaussian',
                    target_modules=list(TEXT_LORA_TARGETS))
                self.text_encoder.add_adapter(self.text_lora_config)
        if self.gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()
            if train_text_encoder:  # transformers 5 renamed the method
                getattr(self.text_encoder, 'activation_checkpointing_enable',
                        self.text_encoder.gradient_checkpointing_enable)()
        self.ce_weight = ce_weight
        self.prop_weight = prop_weight
        self.temperature = temperature
        self.prop_timestep_weighting = prop_timestep_weighting
        if prop_max_timestep is not None and prop_max_timestep <= 0:
            raise ValueError(f'prop_max_timestep must be > 0 or None, got '
                             f'{prop_max_timestep}')
        self.prop_max_timestep = prop_max_timestep
        if prop_estimator not in ('straight_through', 'soft', 'calibrated'):
            raise ValueError(f'prop_estimator must be soft, straight_through '
                             f'or calibrated, got {prop_estimator!r}')
        if prop_estimator == 'calibrated' and self.pixel_encoding == 'onehot':
            raise ValueError("prop_estimator='calibrated' corrects the "
                             'palette softmax; a one-hot mask VAE has none: '
                             "use 'soft' or 'straight_through'")
        self.prop_estimator = prop_estimator
        self.prop_loss = ProportionAwareLoss(
            reduction='none', class_reduction=prop_class_reduction)
        self.share_dropout = None
        if share_conditioning is not None:
            options = dict(dropout=0.1)
            unknown = set(share_conditioning) - set(options)
            if unknown:
                raise ValueError(f'share_conditioning takes {sorted(options)}'
                                 f', got {sorted(unknown)}')
            options.update(share_conditioning)
            if not 0 <= options['dropout'] < 1:
                raise ValueError(f'share_conditioning.dropout must be in '
                                 f'[0, 1), got {options["dropout"]}')
            self.share_dropout = float(options['dropout'])
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
            target = target_shares.to(t.device)
            # no labelled pixel: the null, as measured_rows gives it
            keep = (torch.rand(t.shape, device=t.device) >=
                    self.share_dropout) & has_prompt.bool() & \
                (target.sum(1) > 0)
            extra['class_labels'] = share_inputs(target, keep).to(
                embedding_dtype(self.unet))
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
        """Per-sample CE and L_prop of decoded masks.

        Class logits come from :func:`palette_logits` (the reserved ignore
        colour has a column of its own, so a pixel drawn as ignore where the
        label has a class is an error of CE and takes share from L_prop).
        CE is the log-softmax cross-entropy over the valid pixels. L_prop
        compares the class shares with the target shares: by default the
        soft shares (mean softmax probabilities, as in the paper); with
        ``prop_estimator='straight_through'`` its value uses the hard shares
        (each pixel's nearest colour, what synthesis measures) and its
        gradient the soft ones, since soft shares at a usable temperature
        are biased toward uniform (a 1% class reads about 2.7%).

        Args:
            rgb (torch.Tensor): ``N x 3 x H x W`` decoded masks in [-1, 1]
                (``N x (C + 1) x H x W`` with a one-hot mask VAE).
            label (torch.Tensor): ``N x H x W`` class indices, 255 = ignore.
            target_shares (torch.Tensor): ``N x C`` shares of the prompts.

        Returns:
            tuple: ``(ce, prop)``, each ``N`` values.
        """
        num_classes = len(self.classes)
        logits = self.mask_logits(rgb)
        log_probs = logits.log_softmax(1)
        valid = (label != 255).float()
        ce = F.nll_loss(log_probs, label, ignore_index=255, reduction='none')
        ce = (ce * valid).flatten(1).sum(1) / valid.flatten(1).sum(
            1).clamp_min(1)
        probs = log_probs.exp()[:, :num_classes]
        if self.prop_estimator == 'straight_through':
            hard = F.one_hot(logits.argmax(1), num_classes + 1).permute(
                0, 3, 1, 2)[:, :num_classes].to(probs.dtype)
            probs = hard + probs - probs.detach()
        elif self.prop_estimator == 'calibrated':
            target_shares = target_shares.to(probs) @ soft_share_calibration(
                self.palette, self.temperature).to(probs)
        prop = self.prop_loss(probs, label, target_shares=target_shares,
                              pred_is_prob=True)
        return ce, prop
