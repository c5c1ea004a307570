"""Sampling with a generator's own diffusers pipeline: batched, with
per-sample starting noise and per-prompt text embeddings, so sample ``i``
depends on its seed and prompt only (what synthesis and the val loops
run)."""
from typing import List, Optional, Sequence

import numpy as np
import torch

from .components import inference_scheduler


class SamplingMixin:
    """Inference for a :class:`DiffusionGenerator` (its ``vae``, ``unet``,
    ``text_encoder``, ``tokenizer``, ``noise_scheduler``,
    ``inference_cfg``, ``vae_scale_factor`` and ``ema_weights``)."""

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
               postprocess=None, on_batch: Sequence = (), **pipe_kwargs):
        """Run this model's diffusers pipeline over ``prompts`` in batches.

        Shared by ``generate_masks`` and ``generate_images``: per-sample
        starting noise (:meth:`initial_latents`) and per-prompt text
        embeddings (:meth:`prompt_embeddings`) make sample ``i`` depend on
        ``seeds[i]`` and ``prompts[i]`` only.

        Args:
            per_sample (dict, optional): Pipeline arguments with one entry
                per sample (sliced per batch), e.g. the control images.
            on_batch (Sequence[callable]): Each is called with each
                batch's slice of the samples before the pipeline runs it
                (e.g. to point per-sample guidance targets or share
                vectors at the batch).
            postprocess (callable, optional): Maps a batch of outputs
                (``B x H x W x channels`` uint8 tensor on the model's
                device; 3 channels, or C + 1 from a one-hot mask VAE) to a
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
                for aim in on_batch:
                    aim(part)
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
                             f'{multiple} for this model, got '
                             f'{height}x{width}')

    @staticmethod
    def _batches(n: int, batch_size: int) -> List[slice]:
        if batch_size <= 0:
            raise ValueError(f'batch_size must be > 0, got {batch_size}')
        return [slice(i, min(i + batch_size, n))
                for i in range(0, n, batch_size)]
