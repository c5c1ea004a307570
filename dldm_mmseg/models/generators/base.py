"""What both generators share: components, noising, x0, dtypes, export."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.model import BaseModel

from dldm_mmseg.utils.source_dataset import (SourceDataset,
                                             source_dataset_defaults)
from dldm_mmseg.utils.dtypes import DTYPES
from .components import build_sd_components
from .diffusion_step import DiffusionStepMixin
from .ema import EMAMixin, EMAShadow
from .guidance import x0_guidance
from .sampling import SamplingMixin
from .training_cache import EncodingCache
from .training_step import TrainingStepMixin


class DiffusionGenerator(TrainingStepMixin, DiffusionStepMixin, SamplingMixin,
                         EMAMixin, BaseModel):
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
            a loss is not finite. Under fp16 AMP (an optimizer wrapper with
            a loss scaler) a non-finite step is left to the scaler, which
            skips it and lowers the scale; the run stops only after
            ``max_nonfinite_steps`` such steps in a row. Defaults to True.
        max_nonfinite_steps (int): See ``nan_check``. Defaults to 10.
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
            encoder again. Needs a frozen VAE. Memory: ``2 x C x (H/8) x
            (W/8)`` values per view on the CPU, ``C`` the VAE's latent
            channels (128 KiB at 512 px in fp32 with SD's 4);
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
                 max_nonfinite_steps: int = 10,
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
        meta = source_dataset_defaults(source_dataset)['metainfo']
        self.classes = tuple(meta['classes'])
        self.palette = np.asarray(meta['palette'], dtype=np.uint8)
        self.pixel_encoding = self._pixel_encoding(parts.vae,
                                                   components.get('vae'))
        self.unet = parts.unet
        self.vae = parts.vae
        self.text_encoder = parts.text_encoder
        self.tokenizer = parts.tokenizer
        self.noise_scheduler = parts.scheduler
        self.vae_scale_factor = parts.vae_scale_factor
        self.frozen_dtype = DTYPES[frozen_dtype]
        self.gradient_checkpointing = gradient_checkpointing
        self.x0_weighting = x0_weighting
        self.x0_max_timestep = x0_max_timestep
        if x0_clip is not None and x0_clip <= 0:
            raise ValueError(f'x0_clip must be > 0 or None, got {x0_clip}')
        self.x0_clip = x0_clip
        self.nan_check = nan_check
        if max_nonfinite_steps < 0:
            raise ValueError(f'max_nonfinite_steps must be >= 0, got '
                             f'{max_nonfinite_steps}')
        self.max_nonfinite_steps = max_nonfinite_steps
        self.nonfinite_in_a_row = self.skipped_steps = 0
        self._loss_scaled = False
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
    def _pixel_encoding(self, vae, folder: Optional[str]) -> str:
        """What the VAE's pixels are: ``'rgb'``; a subclass that draws
        one-hot masks also accepts ``'onehot'``."""
        if vae.config.in_channels != 3:
            raise ValueError(
                f'the VAE {folder} takes {vae.config.in_channels}-channel '
                f'(one-hot) masks; {type(self).__name__} paints RGB images: '
                'give it an RGB VAE (a mask VAE fitted with --mask-encoding '
                'onehot belongs to the mask generator; a one-hot mask '
                "condition is condition='onehot')")
        return 'rgb'

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
            # trainable weights stay fp32 (diffusers' own helper; slow import)
            from diffusers.training_utils import cast_training_params
            cast_training_params(self, dtype=torch.float32)
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

    def x0_guidance(self, loss_of, scale: float, timesteps: Sequence[int]):
        """A context in which this model's sampling at ``timesteps`` moves
        x0 against the gradient of ``loss_of(x0 latents, batch slice)``
        (see :func:`~.guidance.x0_guidance`)."""
        return x0_guidance(self.unet, self.predict_x0, self._alphas_cumprod,
                           self.noise_scheduler.config.prediction_type,
                           loss_of, scale, timesteps)

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
