"""Stage 1: text -> colour label mask, Stable Diffusion + LoRA."""
import contextlib
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from mmseg.registry import MODELS
from dldm_mmseg.models.losses import ProportionAwareLoss
from dldm_mmseg.utils.palette import (nearest_palette_index_torch,
                                      palette_logits)
from dldm_mmseg.utils.prompts import check_share_prompt, format_class_shares
from dldm_mmseg.utils.io import atomic_directory
from .base import DiffusionGenerator
from .components import load_pretrained_into

UNET_LORA_TARGETS = ('to_k', 'to_q', 'to_v', 'to_out.0')
TEXT_LORA_TARGETS = ('q_proj', 'k_proj', 'v_proj', 'out_proj')


@MODELS.register_module()
class LoRAMaskGenerator(DiffusionGenerator):
    """Stage 1 of the paper: a LoRA-tuned SD that draws colour label masks.

    Loss = diffusion loss + ``ce_weight`` x CE + ``prop_weight`` x L_prop
    (paper: 0.5 / 0.5). CE and L_prop are computed on the VAE-decoded x0
    prediction, turned into class probabilities by a softmax over negative
    squared distances to the palette colours (``temperature``); each
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
            the next; a confidently wrong pixel keeps a CE gradient of ~11
            (per unit colour) where the former 0.05 on raw distances gave
            none.
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
            softmax probabilities, value and gradient) or
            ``'straight_through'`` (value from the hard shares, gradient from
            the soft ones). Defaults to ``'soft'``: on the demo's toy set
            (v-prediction, 120 epochs, 3 seeds) held-out mCPE 2.82 +- 0.20
            against 3.25 +- 0.07 straight-through.
        prop_class_reduction (str): ``'sum'`` over classes (the L1 distance
            between share vectors, 0..2, on the scale of CE, so the paper's
            0.5 / 0.5 weights balance the two) or ``'mean'`` (the paper's
            1/|C| sum, |C| times smaller). Defaults to ``'sum'``.
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
                 **kwargs) -> None:
        super().__init__(components, **kwargs)
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
        if prop_estimator not in ('straight_through', 'soft'):
            raise ValueError(f'prop_estimator must be straight_through or '
                             f'soft, got {prop_estimator!r}')
        self.prop_estimator = prop_estimator
        self.prop_loss = ProportionAwareLoss(
            reduction='none', class_reduction=prop_class_reduction)
        self._finish_setup()

    # -- training ----------------------------------------------------------
    def loss(self, mask: torch.Tensor, label: torch.Tensor,
             prompt: Sequence[str], target_shares: torch.Tensor,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Diffusion loss plus CE and L_prop on the decoded x0 mask."""
        latents = self.encode_pixels(mask, kwargs.get('view'))
        noisy, noise, t = self.add_noise(latents)
        embeddings = self.encode_prompt(prompt)
        dtype = self.unet.dtype  # frozen base; LoRA layers cast for themselves
        pred = self.unet(noisy.to(dtype), t, embeddings.to(dtype)).sample
        losses = {'loss_diffusion': self.diffusion_loss(
            pred, latents, noise, t)}
        if not (self.ce_weight or self.prop_weight):
            return losses
        has_prompt = torch.tensor([bool(p) for p in prompt], device=t.device,
                                  dtype=torch.float32)
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
        are biased toward uniform (a 1% class reads about 2.7%); measured
        worse (see ``prop_estimator``).

        Args:
            rgb (torch.Tensor): ``N x 3 x H x W`` decoded masks in [-1, 1].
            label (torch.Tensor): ``N x H x W`` class indices, 255 = ignore.
            target_shares (torch.Tensor): ``N x C`` shares of the prompts.

        Returns:
            tuple: ``(ce, prop)``, each ``N`` values.
        """
        num_classes = len(self.classes)
        logits = palette_logits((rgb.float() + 1) / 2, self.palette,
                                self.temperature, with_ignore=True)
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
        prop = self.prop_loss(probs, label, target_shares=target_shares,
                              pred_is_prob=True)
        return ce, prop

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
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        prompts = list(prompt)
        ids = list(sample_id) if sample_id is not None else \
            [str(i) for i in range(len(prompts))]
        height, width = (label.shape[-2:] if label is not None
                         else (512, 512))
        seeds = self.sample_seeds(ids)
        out = self.generate_masks(prompts, seeds, height=int(height),
                                  width=int(width),
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
                shares in class order, or dicts class -> share).
            seeds: One seed per sample; sample ``i`` gives the same output
                whatever the batch it is in.
            height, width: Output size in pixels.
            steps, guidance_scale, scheduler: Sampling settings; defaults
                from ``inference_cfg``.
            batch_size: Samples per forward pass.
            prop_guidance (dict, optional): Proportion guidance while
                sampling (see :meth:`proportion_guidance`): ``scale``
                (0 = off), ``max_timestep`` (guide the steps at or below
                it; default 400). Targets are the prompts' share text.

        Returns:
            dict: ``labels`` (N x H x W uint8 class indices 0..C-1, nearest
            palette colour), ``rgb`` (N x H x W x 3 uint8 raw output) and
            ``prompts``.
        """
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
        def quantise(rgb: torch.Tensor):
            labels = nearest_palette_index_torch(rgb, self.palette)
            return rgb.cpu().numpy(), labels.cpu().numpy()

        guide = dict(prop_guidance or {})
        scale = float(guide.pop('scale', 0.0))
        if scale == 0:
            rgb, labels = self.sample(prompts, seeds, height, width, steps,
                                      guidance_scale, scheduler, batch_size,
                                      postprocess=quantise)
        else:
            targets = self.prompt_targets(prompts)
            with self.proportion_guidance(targets, scale, **guide) as aim:
                rgb, labels = self.sample(
                    prompts, seeds, height, width, steps, guidance_scale,
                    scheduler, batch_size, postprocess=quantise,
                    on_batch=aim)
        return dict(rgb=rgb, labels=labels, prompts=np.asarray(prompts))

    def prompt_targets(self, prompts: Sequence[str]) -> torch.Tensor:
        """``N x C`` shares stated in the prompts' share text (NaN rows
        for prompts without shares: those samples are not guided)."""
        from dldm_mmseg.utils.prompts import parse_class_shares
        rows = []
        for prompt in prompts:
            parts = [p for p in prompt.split('. ') if '%' in p]
            rows.append(parse_class_shares(
                parts[0].strip().rstrip('.'), self.classes,
                require_total=False) if parts else
                np.full(len(self.classes), np.nan))
        return torch.as_tensor(np.stack(rows), dtype=torch.float32)

    @contextlib.contextmanager
    def proportion_guidance(self, targets: torch.Tensor, scale: float,
                            max_timestep: int = 400):
        """Guide sampling toward target class shares with L_prop on the
        decoded x0 (classifier guidance with the differentiable piece the
        method trains with).

        While active, the UNet's output at timesteps ``<= max_timestep`` is
        changed so that the x0 it implies moves by ``-scale * dL/dx0``
        (the gradient times the number of latent pixels, as L is a mean
        over pixels),
        where L is the L_prop of the decoded x0 (palette logits,
        straight-through hard shares, summed over classes) against the
        sample's target. The UNet's Jacobian is not back-propagated (one
        VAE decode and its backward per guided step), so every scheduler
        sees an ordinary model output; with classifier-free guidance both
        halves move alike, so the combined output moves the same way.

        Yields:
            callable: Give it each batch's slice of ``targets``
            (``on_batch`` of :meth:`sample`).
        """
        unet, original = self.unet, self.unet.forward
        current = {}

        def aim(part):
            current['targets'] = targets[part]

        def guided(sample, timestep, *args, **kwargs):
            out = original(sample, timestep, *args, **kwargs)
            t = int(torch.as_tensor(timestep).flatten()[0])
            if t > max_timestep:
                return out
            pred = out[0] if isinstance(out, tuple) else out.sample
            goal = current['targets'].to(sample.device)
            goal = goal.repeat(sample.shape[0] // goal.shape[0], 1)
            steps = torch.full((sample.shape[0],), t, device=sample.device)
            with torch.enable_grad():
                x0 = self.predict_x0(sample.float(), pred.float(), steps)
                x0 = x0.detach().requires_grad_(True)
                loss = self.guidance_loss(self.decode_latents(x0), goal)
                grad, = torch.autograd.grad(loss.sum(), x0)
            # shares are pixel means: per latent pixel the gradient shrinks
            # with the area; rescaled so that a scale means the same at
            # every resolution
            grad = grad * x0[0, 0].numel()
            ab = self._alphas_cumprod(steps, x0)
            alpha, sigma = ab.sqrt(), (1 - ab).sqrt()
            if self.noise_scheduler.config.prediction_type == 'epsilon':
                change = alpha / sigma * scale * grad  # x0 = (x - s e) / a
            else:  # v: x0 = a x - s v
                change = scale * grad / sigma
            pred = (pred.float() + change).to(pred.dtype)
            if isinstance(out, tuple):
                return (pred,) + tuple(out[1:])
            out.sample = pred
            return out

        unet.forward = guided
        try:
            yield aim
        finally:
            unet.forward = original

    def guidance_loss(self, rgb: torch.Tensor, targets: torch.Tensor
                      ) -> torch.Tensor:
        """Per-sample L_prop of decoded masks against target shares
        (straight-through hard shares, summed over classes; 0 for rows
        without a target)."""
        num = len(self.classes)
        logits = palette_logits((rgb.float() + 1) / 2, self.palette,
                                self.temperature, with_ignore=True)
        probs = logits.softmax(1)[:, :num]
        hard = F.one_hot(logits.argmax(1), num + 1).permute(
            0, 3, 1, 2)[:, :num].to(probs.dtype)
        shares = (hard + probs - probs.detach()).flatten(2).mean(2)
        error = (shares - targets.nan_to_num(0)).abs().sum(1)
        return torch.where(targets.isnan().any(1), error * 0, error)

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
        """
        from diffusers import StableDiffusionPipeline
        from diffusers.utils import convert_state_dict_to_diffusers
        from peft.utils import get_peft_model_state_dict
        if self.full_finetune:
            with self.ema_weights(), atomic_directory(out_dir) as tmp:
                for name, module in self._fully_trained().items():
                    module.save_pretrained(osp.join(tmp, name),
                                           safe_serialization=True)
            return osp.abspath(out_dir)
        with self.ema_weights(), atomic_directory(out_dir) as tmp:
            unet_layers = convert_state_dict_to_diffusers(
                get_peft_model_state_dict(self.unet))
            text_layers = None
            if self.train_text_encoder:
                text_layers = convert_state_dict_to_diffusers(
                    get_peft_model_state_dict(self.text_encoder))
            StableDiffusionPipeline.save_lora_weights(
                tmp, unet_lora_layers=unet_layers,
                text_encoder_lora_layers=text_layers,
                unet_lora_adapter_metadata=self.lora_config.to_dict(),
                text_encoder_lora_adapter_metadata=(
                    self.text_lora_config.to_dict()
                    if self.text_lora_config else None),
                safe_serialization=True)
        return osp.abspath(out_dir)

    def _load_export(self, path: str) -> None:
        """Load LoRA weights written by :meth:`export` (or any diffusers
        LoRA for this architecture) into the adapters.

        Raises:
            FileNotFoundError: When ``path`` has no LoRA weights file.
            ValueError: When the weights do not fit this model (another
                rank, targets or base architecture), naming the export.
        """
        from diffusers import StableDiffusionPipeline
        from diffusers.utils import (convert_state_dict_to_peft,
                                     convert_unet_state_dict_to_peft)
        from peft.utils import set_peft_model_state_dict
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
            load_pretrained_into(parts, path)
            return
        weights = osp.join(path, 'pytorch_lora_weights.safetensors')
        if not osp.isfile(weights):
            raise FileNotFoundError(
                f'{weights} does not exist; point at a folder written by '
                'GeneratorExportHook (work_dir/export/final) or '
                'LoRAMaskGenerator.export')
        state, _ = StableDiffusionPipeline.lora_state_dict(
            path, local_files_only=True)
        parts = [('unet.', self.unet, convert_unet_state_dict_to_peft)]
        if self.train_text_encoder:
            parts.append(('text_encoder.', self.text_encoder,
                          convert_state_dict_to_peft))
        elif any(k.startswith('text_encoder.') for k in state):
            raise ValueError(f'{path} holds text-encoder LoRA weights but '
                             'this config has train_text_encoder=False')
        for prefix, module, convert in parts:
            sub = convert({k[len(prefix):]: v for k, v in state.items()
                           if k.startswith(prefix)})
            try:
                result = set_peft_model_state_dict(module, sub)
            except RuntimeError as e:  # shape mismatch
                raise ValueError(f'LoRA weights in {path} do not fit this '
                                 f'model (lora_rank={self.lora_config.r}, '
                                 f'base {type(module).__name__}): {e}') from e
            unexpected = getattr(result, 'unexpected_keys', [])
            if unexpected or not sub:
                raise ValueError(
                    f'LoRA weights in {path} do not match this model\'s '
                    f'adapters ({len(unexpected)} unexpected keys, e.g. '
                    f'{unexpected[:2]}); check lora_targets and the base '
                    'model of the config')
