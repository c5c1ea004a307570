"""What both generators share: components, noising, x0, dtypes, export."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.model import BaseModel

from dldm_mmseg.utils.source_dataset import (SourceDataset,
                                              source_dataset_defaults)
from dldm_mmseg.utils.dtypes import DTYPES
# inference_scheduler and load_pretrained_into live with the components;
# importable from here as before
from .components import (build_sd_components,  # noqa: F401
                         inference_scheduler, load_pretrained_into)
from .ema import EMAMixin, EMAShadow
from .training_cache import EncodingCache

class DiffusionGenerator(EMAMixin, BaseModel):
    """Base of the mask and image generators (an mmengine model).

    Builds the Stable Diffusion parts (:func:`build_sd_components`), keeps
    them frozen, and gives subclasses noising, x0 prediction, text and VAE
    encoding, timestep weighting for x0-space losses, a NaN check, optional
    EMA of the trainable weights, and checkpoints that hold the trainable
    weights only (the frozen ones come from ``components``).

    Args:
        components (dict): Arguments of :func:`build_sd_components`:
            ``pretrained`` (local diffusers folder) or ``preset``, and
            ``prediction_type``.
        source_dataset (str | dict): The real set whose classes and
            palette the masks use: a registered type or a dataset config
            with ``metainfo`` (see :mod:`dldm_mmseg.utils.source_dataset`).
            Required.
        frozen_dtype (str, optional): ``'fp16'``/``'bf16'`` to store the
            frozen parts in half precision (use with AMP); trainable weights
            stay fp32. Defaults to None (fp32).
        gradient_checkpointing (bool): Trade compute for memory in the
            trainable networks, and decode x0 one sample at a time under
            activation checkpointing. Defaults to False.
        ema_decay (float, optional): Keep an EMA of the trainable weights
            (exported instead of the raw weights). Defaults to None.
        x0_weighting (str): Per-sample weight of x0-space losses by
            timestep: ``'alphas_cumprod'`` (x0 at high noise says little) or
            ``'none'``. Defaults to ``'alphas_cumprod'``.
        x0_max_timestep (int, optional): Only timesteps below this get
            x0-space losses. Defaults to None (all).
        x0_clip (float, optional): Bound of the predicted x0 latents (in
            scaled-latent units, where the data has std ~1) before they are
            decoded. At t = 999 SD 1.5 divides by sqrt(alpha_bar) = 0.068,
            so a poor noise prediction gives x0 values in the hundreds,
            which overflow an fp16 VAE decoder and stop the run as
            non-finite. Defaults to 10. None disables the bound.
        nan_check (bool): Stop with the iteration and loss terms named when
            a loss is not finite. Defaults to True.
        grad_norm_interval (int): Every this many training iterations, log
            the gradient norm of each loss term on the trainable weights
            (``grad_norm_diffusion``, ``grad_norm_ce``, ...), so a user can
            see how much each term steers training. One extra backward pass
            per term on those iterations; 0 disables. Defaults to 50.
        snr_gamma (float, optional): Min-SNR-gamma weighting of the
            diffusion loss (Hang et al. 2023; diffusers' ``--snr_gamma``):
            a timestep's MSE is weighted by ``min(SNR, gamma) / SNR``
            (``/ (SNR + 1)`` for v-prediction), so the many near-clean
            timesteps stop dominating; the paper reports about 3x faster
            convergence with gamma = 5. Defaults to None (plain MSE, as the
            paper's generators).
        cache_latents (bool): Keep the frozen VAE's latent distribution
            of each training view (a patch with its crop, flips and
            rotation, named by the dataset's ``view`` key) after its first
            encoding, and draw the latents from it instead of running the
            encoder again. Needs a frozen VAE. Memory: ``2 x 4 x (H/8) x
            (W/8)`` values per view on the CPU (128 KiB at 512 px in fp32);
            Potsdam's patches have 8 views each (flips x rotations).
            Defaults to False.
        cache_text (bool): Keep the frozen text encoder's hidden states of
            each prompt after its first encoding (``77 x 768`` values per
            distinct prompt for SD 1.5). Defaults to False.
        cache_max_items (int, optional): Bound on the keys each cache
            keeps. Defaults to None (no bound).
        inference_cfg (dict, optional): Defaults of the inference API:
            ``scheduler`` (``'dpmsolver++'``), ``steps`` (20),
            ``guidance_scale`` (5.0).
    """

    def __init__(self,
                 components: dict,
                 source_dataset: Optional[SourceDataset] = None,
                 frozen_dtype: Optional[str] = None,
                 gradient_checkpointing: bool = False,
                 ema_decay: Optional[float] = None,
                 x0_weighting: str = 'alphas_cumprod',
                 x0_max_timestep: Optional[int] = None,
                 x0_clip: Optional[float] = 10.0,
                 nan_check: bool = True,
                 grad_norm_interval: int = 50,
                 snr_gamma: Optional[float] = None,
                 cache_latents: bool = False,
                 cache_text: bool = False,
                 cache_max_items: Optional[int] = None,
                 inference_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if frozen_dtype not in DTYPES:
            raise ValueError(f'frozen_dtype must be fp16, bf16 or None, got '
                             f'{frozen_dtype!r}')
        if x0_weighting not in ('alphas_cumprod', 'none'):
            raise ValueError(f'x0_weighting must be alphas_cumprod or none, '
                             f'got {x0_weighting!r}')
        parts = build_sd_components(**components)
        self.unet = parts.unet
        self.vae = parts.vae
        self.text_encoder = parts.text_encoder
        self.tokenizer = parts.tokenizer
        self.noise_scheduler = parts.scheduler
        self.vae_scale_factor = parts.vae_scale_factor
        meta = source_dataset_defaults(source_dataset)['metainfo']
        self.classes = tuple(meta['classes'])
        self.palette = np.asarray(meta['palette'], dtype=np.uint8)
        self.frozen_dtype = DTYPES[frozen_dtype]
        self.gradient_checkpointing = gradient_checkpointing
        self.x0_weighting = x0_weighting
        self.x0_max_timestep = x0_max_timestep
        if x0_clip is not None and x0_clip <= 0:
            raise ValueError(f'x0_clip must be > 0 or None, got {x0_clip}')
        self.x0_clip = x0_clip
        self.nan_check = nan_check
        if grad_norm_interval < 0:
            raise ValueError(f'grad_norm_interval must be >= 0, got '
                             f'{grad_norm_interval}')
        self.grad_norm_interval = grad_norm_interval
        if snr_gamma is not None and snr_gamma <= 0:
            raise ValueError(f'snr_gamma must be > 0 or None, got '
                             f'{snr_gamma}')
        self.snr_gamma = snr_gamma
        self._train_steps = 0
        self.latent_cache = EncodingCache(cache_max_items) \
            if cache_latents else None
        self.text_cache = EncodingCache(cache_max_items) \
            if cache_text else None
        self.inference_cfg = dict(scheduler='dpmsolver++', steps=20,
                                  guidance_scale=5.0)
        self.inference_cfg.update(inference_cfg or {})
        self.ema_decay = ema_decay
        self.ema: Optional[EMAShadow] = None
        self.register_state_dict_post_hook(_keep_trainable_state)
        self.register_load_state_dict_post_hook(_ignore_frozen_missing)

    # -- set-up helpers for subclasses -----------------------------------
    def _finish_setup(self) -> None:
        """Call at the end of a subclass ``__init__``: cast frozen parts,
        enable checkpointing, create the EMA shadow."""
        trainable = self.trainable_parameters()
        if not trainable:
            raise ValueError(f'{type(self).__name__} has no trainable '
                             'parameters')
        if self.frozen_dtype is not None:
            for module in (self.vae, self.text_encoder, self.unet):
                module.to(self.frozen_dtype)
            for param in trainable.values():  # trainable weights stay fp32
                param.data = param.data.float()
        if self.ema_decay is not None:
            if not 0 < self.ema_decay < 1:
                raise ValueError(f'ema_decay must be in (0, 1), got '
                                 f'{self.ema_decay}')
            self.ema = EMAShadow(trainable)
        for cache, module, option in (
                (self.latent_cache, self.vae, 'cache_latents'),
                (self.text_cache, self.text_encoder, 'cache_text')):
            if cache is not None and any(p.requires_grad
                                         for p in module.parameters()):
                raise ValueError(
                    f'{option}=True needs a frozen {type(module).__name__}, '
                    f'but {type(self).__name__} trains it; set {option}='
                    'False')

    def trainable_parameters(self) -> Dict[str, nn.Parameter]:
        return {n: p for n, p in self.named_parameters() if p.requires_grad}

    # -- diffusion pieces --------------------------------------------------
    def encode_prompt(self, prompts: Sequence[str]) -> torch.Tensor:
        """CLIP hidden states of the prompts (77 tokens, padded); from the
        cache for prompts seen before when ``cache_text`` is on."""
        prompts = list(prompts)

        def encode(indices: Sequence[int]) -> torch.Tensor:
            tokens = self.tokenizer(
                [prompts[i] for i in indices], padding='max_length',
                max_length=self.tokenizer.model_max_length, truncation=True,
                return_tensors='pt')
            return self.text_encoder(tokens.input_ids.to(self.unet.device))[0]

        if self.text_cache is None or not self.training:
            return encode(range(len(prompts)))
        with torch.no_grad():
            return self.text_cache.lookup(prompts, lambda i: (encode(i), ),
                                          self.unet.device)[0]

    @torch.no_grad()
    def encode_pixels(self, pixels: torch.Tensor,
                      views: Optional[Sequence[str]] = None) -> torch.Tensor:
        """VAE latents (x scaling factor) of images in [-1, 1], drawn from
        their latent distribution; with ``cache_latents`` the distribution
        of a view seen before comes from the cache (``views`` names each
        image's training view, see :class:`MaskCaptionDataset`)."""
        if self.latent_cache is None or not self.training:
            dist = self.vae.encode(pixels.to(self.vae.dtype)).latent_dist
            # noising and targets in fp32, whatever the frozen VAE's dtype
            return dist.sample().float() * self.vae.config.scaling_factor
        if views is None:
            raise ValueError(
                'cache_latents=True needs each training sample to name its '
                "view (the 'view' key MaskCaptionDataset gives); this "
                'dataset does not, so set cache_latents=False')

        def encode(indices: Sequence[int]):
            dist = self.vae.encode(
                pixels[list(indices)].to(self.vae.dtype)).latent_dist
            return dist.mean, dist.std

        mean, std = self.latent_cache.lookup(views, encode, pixels.device)
        # as DiagonalGaussianDistribution.sample draws it
        noise = torch.randn(mean.shape, device=mean.device, dtype=mean.dtype)
        return (mean + std * noise).float() * self.vae.config.scaling_factor

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Pixels in [-1, 1] (differentiable w.r.t. the latents)."""
        latents = latents / self.vae.config.scaling_factor
        return self.vae.decode(latents.to(self.vae.dtype)).sample

    def add_noise(self, latents: torch.Tensor):
        """Random timesteps and noise; returns ``(noisy, noise, t)``."""
        # randn_like would follow the latents' memory layout (the VAE's
        # output is channels-last on CPU), so the same seed would give other
        # noise for a cached latent; draw in the logical layout instead
        noise = torch.randn(latents.shape, dtype=latents.dtype,
                            device=latents.device)
        t = torch.randint(0, self.noise_scheduler.config.num_train_timesteps,
                          (latents.shape[0],), device=latents.device).long()
        return self.noise_scheduler.add_noise(latents, noise, t), noise, t

    def diffusion_target(self, latents, noise, t) -> torch.Tensor:
        kind = self.noise_scheduler.config.prediction_type
        if kind == 'epsilon':
            return noise
        if kind == 'v_prediction':
            return self.noise_scheduler.get_velocity(latents, noise, t)
        raise ValueError(f'unsupported prediction_type {kind!r}')

    def _alphas_cumprod(self, t, like: torch.Tensor) -> torch.Tensor:
        ab = self.noise_scheduler.alphas_cumprod.to(like.device)[t]
        return ab.float().view(-1, *([1] * (like.dim() - 1)))

    def predict_x0(self, noisy, model_output, t) -> torch.Tensor:
        """The clean latents implied by the network output at ``t``."""
        ab = self._alphas_cumprod(t, noisy)
        noisy, model_output = noisy.float(), model_output.float()
        kind = self.noise_scheduler.config.prediction_type
        if kind == 'epsilon':
            x0 = (noisy - (1 - ab).sqrt() * model_output) / ab.sqrt()
        else:
            x0 = ab.sqrt() * noisy - (1 - ab).sqrt() * model_output
        if self.x0_clip is not None:
            x0 = x0.clamp(-self.x0_clip, self.x0_clip)
        return x0

    def x0_weights(self, t: torch.Tensor, max_timestep='default'
                   ) -> torch.Tensor:
        """Per-sample weights of x0-space losses (sum not normalised), zero
        from ``max_timestep`` on (defaults to ``x0_max_timestep``; None
        keeps every timestep)."""
        if max_timestep == 'default':
            max_timestep = self.x0_max_timestep
        weights = torch.ones(t.shape[0], device=t.device)
        if self.x0_weighting == 'alphas_cumprod':
            weights = self.noise_scheduler.alphas_cumprod.to(t.device)[t]
        if max_timestep is not None:
            weights = weights * (t < max_timestep)
        return weights.float()

    def decode_weighted_x0(self, noisy, pred, t, weights):
        """Decode the x0 prediction of the samples whose x0-loss weight is
        not zero (the VAE decoder and its backward pass are the dearest
        part of a step, and ``x0_max_timestep`` zeroes most of a batch).

        Returns:
            tuple: ``(keep, pixels)``: a boolean mask over the batch and the
            decoded pixels of the kept samples, or None when none is kept.
        """
        keep = weights > 0
        if not keep.any():
            return keep, None
        x0 = self.predict_x0(noisy[keep], pred[keep], t[keep])
        if not (self.gradient_checkpointing and torch.is_grad_enabled()):
            return keep, self.decode_latents(x0)
        # One sample at a time under activation checkpointing: the backward
        # pass recomputes each decode alone, so the decoder's activations
        # (the largest of a 512 px step: tens of GB at batch 16) are held
        # for one sample instead of the whole batch.
        from torch.utils.checkpoint import checkpoint
        return keep, torch.cat([
            checkpoint(self.decode_latents, x0[i:i + 1], use_reentrant=False)
            for i in range(x0.shape[0])])

    def diffusion_loss(self, pred, latents, noise, t) -> torch.Tensor:
        """MSE to the scheduler's target, Min-SNR weighted per sample
        with ``snr_gamma``."""
        target = self.diffusion_target(latents, noise, t)
        if self.snr_gamma is None:
            return self.mse(pred, target)
        from diffusers.training_utils import compute_snr
        snr = compute_snr(self.noise_scheduler, t).float()
        weight = snr.clamp(max=self.snr_gamma) / (
            snr + 1 if self.noise_scheduler.config.prediction_type ==
            'v_prediction' else snr)
        per_sample = F.mse_loss(pred.float(), target.float(),
                                reduction='none').flatten(1).mean(1)
        return (weight * per_sample).mean()

    @staticmethod
    def mse(pred, target) -> torch.Tensor:
        return F.mse_loss(pred.float(), target.float())

    def check_finite(self, losses: Dict[str, torch.Tensor]) -> None:
        """Raise with the iteration and all terms if a loss is not finite."""
        if not self.nan_check or all(torch.isfinite(v).all()
                                     for v in losses.values()):
            return
        hub = MessageHub.get_current_instance()
        iteration = hub.get_info('iter') if hub else None
        terms = ', '.join(f'{k}={v.item():.4g}' for k, v in losses.items())
        raise FloatingPointError(
            f'non-finite loss at iteration {iteration}: {terms}. Lower the '
            'learning rate, use bf16 instead of fp16, or check the data')

    # -- training ----------------------------------------------------------
    def forward(self, mode: str = 'loss', **batch):
        """``mode='loss'``: the training losses of a batch of
        :class:`MaskCaptionDataset` samples; ``mode='predict'``: generate
        for the batch's prompts (see the subclass's ``predict``) and return
        ``SegDataSample`` s for mmengine's val/test loops and metrics,
        with the EMA weights when the model keeps them (what
        :meth:`export` writes and synthesis uses)."""
        if mode == 'loss':
            losses = self.loss(**batch)
            self.check_finite(losses)
            return losses
        if mode == 'predict':  # the weights an export holds
            with self.ema_weights():
                return self.predict(**batch)
        raise ValueError(f'{type(self).__name__} supports mode="loss" and '
                         f'"predict", got {mode!r}')

    @staticmethod
    def sample_seeds(sample_ids: Sequence[str], offset: int = 0) -> List[int]:
        """A seed per sample id (CRC32 of the id, plus ``offset``): a
        validation patch is drawn with the same noise at every epoch and in
        ``tools/test.py``, so metrics move only with the weights."""
        import zlib
        return [(zlib.crc32(str(s).encode()) + offset) % 2 ** 31
                for s in sample_ids]

    def predict(self, **batch):
        raise NotImplementedError

    def parse_losses(self, losses: Dict[str, torch.Tensor]):
        """mmengine's sum of the ``loss*`` terms, plus, every
        ``grad_norm_interval`` training iterations, each term's gradient
        norm on the trainable weights (see :meth:`loss_grad_norms`)."""
        loss, log_vars = super().parse_losses(losses)
        if self.training and torch.is_grad_enabled():
            due = self.grad_norm_interval and \
                self._train_steps % self.grad_norm_interval == 0
            self._train_steps += 1
            if due and loss.requires_grad:
                log_vars.update(self.loss_grad_norms(losses))
            for name, cache in (('latents', self.latent_cache),
                                ('text', self.text_cache)):
                if cache is not None:
                    # share of this batch; the logger averages over its
                    # interval
                    log_vars[f'cache_hits_{name}'] = torch.tensor(
                        cache.last_hit_rate)
        return loss, log_vars

    def loss_grad_norms(self, losses: Dict[str, torch.Tensor]
                        ) -> Dict[str, torch.Tensor]:
        """``grad_norm_<term>``: the L2 norm of d(term)/d(trainable weights)
        for each ``loss_<term>`` (the graph is kept for the real backward).
        Under fp16 AMP the unscaled terms may underflow: read the norms as
        a comparison between terms, not absolute values."""
        params = [p for p in self.trainable_parameters().values()]
        norms = {}
        for name, value in losses.items():
            if not (name.startswith('loss_') and value.requires_grad):
                continue
            grads = torch.autograd.grad(value, params, retain_graph=True,
                                        allow_unused=True)
            squares = [g.float().pow(2).sum() for g in grads if g is not None]
            total = torch.stack(squares).sum().sqrt() if squares else \
                value.new_zeros(())
            norms['grad_norm_' + name[len('loss_'):]] = total.detach()
        return norms

    def train_step(self, data, optim_wrapper):
        log_vars = super().train_step(data, optim_wrapper)
        if self.ema is not None and optim_wrapper.should_update():
            self.update_ema()
        return log_vars

    def load_export(self, path: str) -> None:
        """Load the weights :meth:`export` wrote (see the subclass's
        ``_load_export``). The EMA shadow, when the config keeps one,
        restarts from them: sampling and predict use the shadow, which
        would otherwise still hold the weights the model was built with."""
        self._load_export(path)
        self.reset_ema()

    def _load_export(self, path: str) -> None:
        raise NotImplementedError

    def trainable_state_keys(self) -> set:
        keys = set(self.trainable_parameters())
        if self.ema is not None:
            keys |= {f'ema.{n}' for n, _ in self.ema.named_buffers()}
        return keys

    # -- inference ---------------------------------------------------------
    #: the diffusers pipeline class the inference API runs
    pipeline_class = 'StableDiffusionPipeline'

    def _extra_pipeline_modules(self) -> dict:
        """Networks a subclass adds to the pipeline (e.g. a ControlNet)."""
        return {}

    def pipeline(self, scheduler: str = 'dpmsolver++'):
        """A diffusers ``pipeline_class`` over this model's components
        (adapters active, no safety checker, no progress bar)."""
        import diffusers
        pipe = getattr(diffusers, self.pipeline_class)(
            vae=self.vae, text_encoder=self.text_encoder,
            tokenizer=self.tokenizer, unet=self.unet,
            scheduler=inference_scheduler(scheduler,
                                          self.noise_scheduler.config),
            safety_checker=None, feature_extractor=None,
            requires_safety_checker=False, **self._extra_pipeline_modules())
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def _inference_args(self, steps, guidance_scale, scheduler) -> dict:
        cfg = self.inference_cfg
        return dict(
            num_inference_steps=steps or cfg['steps'],
            guidance_scale=cfg['guidance_scale'] if guidance_scale is None
            else guidance_scale,
            scheduler=scheduler or cfg['scheduler'])

    @torch.no_grad()
    def prompt_embeddings(self, pipe, prompts: Sequence[str],
                          guidance_scale: float):
        """Text embeddings for a batch, each prompt encoded on its own.

        CPU and GPU matrix kernels choose code paths by batch shape, so a
        prompt encoded with others can differ in the last bits from the same
        prompt encoded alone; encoding one by one (the text encoder is a
        small part of the cost) keeps sample ``i`` independent of its batch.
        Repeated prompts are encoded once.

        Returns:
            tuple: ``(prompt_embeds, negative_prompt_embeds or None)``.
        """
        use_cfg = guidance_scale > 1
        cache = {}
        positive = []
        for prompt in prompts:
            if prompt not in cache:
                cache[prompt] = pipe.encode_prompt(
                    prompt, self.unet.device, 1, False)[0]
            positive.append(cache[prompt])
        negative = None
        if use_cfg:
            empty = pipe.encode_prompt('', self.unet.device, 1, False)[0]
            negative = empty.expand(len(prompts), -1, -1)
        return torch.cat(positive), negative

    def initial_latents(self, seeds: Sequence[int], height: int,
                        width: int) -> torch.Tensor:
        """Per-sample starting noise: sample ``i`` depends on ``seeds[i]``
        only, as a stock pipeline called with
        ``generator=torch.Generator().manual_seed(seed)`` would draw it."""
        shape = (1, self.unet.config.in_channels,
                 height // self.vae_scale_factor,
                 width // self.vae_scale_factor)
        return torch.cat([
            torch.randn(shape, generator=torch.Generator().manual_seed(int(s)),
                        dtype=torch.float32) for s in seeds])

    def sample(self, prompts: Sequence[str], seeds: Sequence[int],
               height: int, width: int, steps: Optional[int],
               guidance_scale: Optional[float], scheduler: Optional[str],
               batch_size: int, per_sample: Optional[dict] = None,
               postprocess=None, on_batch=None, **pipe_kwargs):
        """Run this model's diffusers pipeline over ``prompts`` in batches.

        Shared by ``generate_masks`` and ``generate_images``: per-sample
        starting noise (:meth:`initial_latents`) and per-prompt text
        embeddings (:meth:`prompt_embeddings`) make sample ``i`` depend on
        ``seeds[i]`` and ``prompts[i]`` only.

        Args:
            per_sample (dict, optional): Pipeline arguments with one entry
                per sample (sliced per batch), e.g. the control images.
            on_batch (callable, optional): Called with each batch's slice
                of the samples before the pipeline runs it (e.g. to point
                per-sample guidance targets at the batch).
            postprocess (callable, optional): Maps a batch of outputs
                (``B x H x W x 3`` uint8 tensor on the model's device) to a
                tuple of numpy arrays (concatenated over batches); e.g. the
                masks' quantisation, done on the device.
            **pipe_kwargs: Pipeline arguments shared by all samples.

        Returns:
            np.ndarray: ``N x H x W x 3`` uint8 outputs, or the
            concatenated tuple of ``postprocess``.
        """
        prompts, seeds = list(prompts), list(seeds)
        if len(prompts) != len(seeds):
            raise ValueError(f'{len(prompts)} prompts but {len(seeds)} seeds')
        self._check_size(height, width)
        args = self._inference_args(steps, guidance_scale, scheduler)
        pipe = self.pipeline(args.pop('scheduler'))
        latents = self.initial_latents(seeds, height, width)
        outputs = []
        with self.ema_weights():
            for part in self._batches(len(prompts), batch_size):
                positive, negative = self.prompt_embeddings(
                    pipe, prompts[part], args['guidance_scale'])
                batch_kwargs = {k: v[part] for k, v in
                                (per_sample or {}).items()}
                if on_batch is not None:
                    on_batch(part)
                out = pipe(prompt_embeds=positive,
                           negative_prompt_embeds=negative,
                           height=height, width=width,
                           latents=latents[part].to(self.unet.device,
                                                    self.unet.dtype),
                           output_type='pt', **args, **batch_kwargs,
                           **pipe_kwargs).images
                # uint8 on the device (as the 'np' output would round it,
                # in fp32): 4x less to copy, and masks are quantised there
                out = (out.float() * 255).round().clamp(0, 255).to(
                    torch.uint8).permute(0, 2, 3, 1)
                outputs.append(postprocess(out) if postprocess else
                               out.cpu().numpy())
        if isinstance(outputs[0], tuple):
            return tuple(np.concatenate(part) for part in zip(*outputs))
        return np.concatenate(outputs)

    def _check_size(self, height: int, width: int) -> None:
        multiple = self.vae_scale_factor * 2 ** (
            len(self.unet.config.block_out_channels) - 1)
        if height % multiple or width % multiple:
            raise ValueError(f'height and width must be multiples of '
                             f'{multiple} for this model, got {height}x{width}')

    @staticmethod
    def _batches(n: int, batch_size: int) -> List[slice]:
        if batch_size <= 0:
            raise ValueError(f'batch_size must be > 0, got {batch_size}')
        return [slice(i, min(i + batch_size, n))
                for i in range(0, n, batch_size)]


def _keep_trainable_state(module, state_dict, prefix, local_metadata):
    """State-dict post-hook: keep trainable weights (and EMA) only."""
    keep = {prefix + k for k in module.trainable_state_keys()}
    for key in list(state_dict):
        if key.startswith(prefix) and key not in keep:
            del state_dict[key]


def _ignore_frozen_missing(module, incompatible_keys):
    """Load post-hook: frozen weights are absent from checkpoints on
    purpose; only missing trainable keys are reported."""
    keep = module.trainable_state_keys()
    missing = incompatible_keys.missing_keys
    missing[:] = [k for k in missing if k in keep]
