"""Stable Diffusion components from a local folder or an architecture preset.

``build_sd_components(pretrained='checkpoints/stable-diffusion-v1-5')``
loads UNet, VAE, CLIP text encoder, tokenizer and noise scheduler from a
folder in the diffusers layout (``unet/ vae/ text_encoder/ tokenizer/
scheduler/``) with ``local_files_only=True``: no code path contacts a hub.

``build_sd_components(preset='tiny' | 'small' | 'sd15')`` builds the same
components with random weights: ``tiny`` for tests, ``small`` for the CPU
demo, ``sd15`` with the full SD 1.5 shapes for speed and memory benchmarks.
The tokenizer of a preset is CLIP's, built offline from the BPE vocabulary
that mmseg ships (``mmseg/utils/bpe_simple_vocab_16e6.txt.gz``).
"""
import functools
import gzip
import math
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Optional

import torch

PIPELINE_LAYOUT = {
    'unet': 'config.json',
    'vae': 'config.json',
    'text_encoder': 'config.json',
    'scheduler': 'scheduler_config.json',
}
TOKENIZER_FILES = (('vocab.json', 'merges.txt'), ('tokenizer.json',))

# SD 1.x noise schedule (scaled linear, 1000 steps), shared by every preset.
SD_SCHEDULE = dict(num_train_timesteps=1000, beta_start=0.00085,
                   beta_end=0.012, beta_schedule='scaled_linear',
                   steps_offset=1, clip_sample=False)

PRESETS: Dict[str, dict] = {
    # Tests: seconds on a CPU. VAE factor 4, 2-level UNet.
    'tiny': dict(
        unet=dict(block_out_channels=(32, 64), layers_per_block=1,
                  down_block_types=('DownBlock2D', 'CrossAttnDownBlock2D'),
                  up_block_types=('CrossAttnUpBlock2D', 'UpBlock2D'),
                  cross_attention_dim=32, attention_head_dim=8,
                  norm_num_groups=8, sample_size=8),
        vae=dict(block_out_channels=(16, 32, 32), layers_per_block=1,
                 down_block_types=('DownEncoderBlock2D',) * 3,
                 up_block_types=('UpDecoderBlock2D',) * 3,
                 latent_channels=4, norm_num_groups=8, sample_size=32),
        text=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                  num_attention_heads=4, projection_dim=32),
        resolution=32),
    # The CPU demo: minutes on 2 cores at 64x64. VAE factor 4.
    'small': dict(
        unet=dict(block_out_channels=(32, 64, 64), layers_per_block=1,
                  down_block_types=('DownBlock2D', 'CrossAttnDownBlock2D',
                                    'CrossAttnDownBlock2D'),
                  up_block_types=('CrossAttnUpBlock2D', 'CrossAttnUpBlock2D',
                                  'UpBlock2D'),
                  cross_attention_dim=64, attention_head_dim=8,
                  norm_num_groups=16, sample_size=16),
        vae=dict(block_out_channels=(32, 64, 64), layers_per_block=1,
                 down_block_types=('DownEncoderBlock2D',) * 3,
                 up_block_types=('UpDecoderBlock2D',) * 3,
                 latent_channels=4, norm_num_groups=16, sample_size=64),
        text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, projection_dim=64),
        resolution=64),
    # The full Stable Diffusion 1.5 shapes (random weights), for benchmarks.
    'sd15': dict(
        unet=dict(block_out_channels=(320, 640, 1280, 1280),
                  layers_per_block=2,
                  down_block_types=('CrossAttnDownBlock2D',) * 3 +
                  ('DownBlock2D',),
                  up_block_types=('UpBlock2D',) + ('CrossAttnUpBlock2D',) * 3,
                  cross_attention_dim=768, attention_head_dim=8,
                  norm_num_groups=32, sample_size=64),
        vae=dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2,
                 down_block_types=('DownEncoderBlock2D',) * 4,
                 up_block_types=('UpDecoderBlock2D',) * 4,
                 latent_channels=4, norm_num_groups=32, sample_size=512),
        text=dict(hidden_size=768, intermediate_size=3072,
                  num_hidden_layers=12, num_attention_heads=12,
                  projection_dim=768),
        resolution=512),
}


@dataclass
class SDComponents:
    """The parts of a Stable Diffusion model."""
    unet: torch.nn.Module
    vae: torch.nn.Module
    text_encoder: torch.nn.Module
    tokenizer: object
    scheduler: object

    @property
    def vae_scale_factor(self) -> int:
        return downsampling(self.vae.config.block_out_channels)


@functools.lru_cache(maxsize=1)
def _clip_vocabulary():
    from mmseg.utils.tokenizer import bytes_to_unicode
    import mmseg
    path = osp.join(osp.dirname(mmseg.__file__), 'utils',
                    'bpe_simple_vocab_16e6.txt.gz')
    if not osp.isfile(path):
        raise FileNotFoundError(f'the CLIP BPE vocabulary {path} that mmseg '
                                'ships is missing; reinstall '
                                'onedl-mmsegmentation')
    lines = gzip.open(path).read().decode('utf-8').split('\n')
    merges = lines[1:49152 - 256 - 2 + 1]  # as in CLIP's SimpleTokenizer
    symbols = list(bytes_to_unicode().values())
    symbols += [s + '</w>' for s in symbols]
    symbols += [''.join(m.split()) for m in merges]
    symbols += ['<|startoftext|>', '<|endoftext|>']
    return {s: i for i, s in enumerate(symbols)}, merges


def build_clip_tokenizer(model_max_length: int = 77):
    """CLIP's tokenizer (vocabulary 49408, ids 49406/49407 for start/end),
    built offline from mmseg's copy of the BPE file."""
    from transformers import CLIPTokenizer
    vocab, merges = _clip_vocabulary()
    return CLIPTokenizer(vocab=dict(vocab),
                         merges=[tuple(m.split()) for m in merges],
                         model_max_length=model_max_length)


def check_pretrained_folder(path: str) -> None:
    """Raise a clear error unless ``path`` holds an SD pipeline in the
    diffusers layout."""
    layout = ('expected a Stable Diffusion 1.x/2.x folder in the diffusers '
              'layout: unet/config.json, vae/config.json, '
              'text_encoder/config.json, tokenizer/(vocab.json + merges.txt '
              'or tokenizer.json), scheduler/scheduler_config.json, with '
              'the weights (*.safetensors) beside each config')
    if not osp.isdir(path):
        raise FileNotFoundError(f'pretrained folder {path} does not exist; '
                                + layout)
    missing = [f'{sub}/{name}' for sub, name in PIPELINE_LAYOUT.items()
               if not osp.isfile(osp.join(path, sub, name))]
    if not any(all(osp.isfile(osp.join(path, 'tokenizer', f)) for f in files)
               for files in TOKENIZER_FILES):
        missing.append('tokenizer/vocab.json+merges.txt')
    if missing:
        raise FileNotFoundError(f'{path} is incomplete: missing '
                                f'{", ".join(missing)}; ' + layout)


def _scheduler(prediction_type: str, config: Optional[dict] = None):
    from diffusers import DDPMScheduler
    if config is None:
        return DDPMScheduler(prediction_type=prediction_type, **SD_SCHEDULE)
    return DDPMScheduler.from_config(config, prediction_type=prediction_type)


def build_sd_components(pretrained: Optional[str] = None,
                        preset: Optional[str] = None,
                        prediction_type: Optional[str] = None,
                        vae: Optional[str] = None,
                        seed: int = 0,
                        vae_channels: int = 3,
                        latent_channels: Optional[int] = None,
                        vae_scale_factor: Optional[int] = None
                        ) -> SDComponents:
    """Build UNet, VAE, text encoder, tokenizer and noise scheduler.

    Args:
        pretrained (str, optional): Local folder in the diffusers layout.
        preset (str, optional): ``'tiny'``, ``'small'`` or ``'sd15'``:
            random weights with these shapes. Exactly one of ``pretrained``
            and ``preset`` is given.
        prediction_type (str, optional): ``'epsilon'`` or
            ``'v_prediction'``; defaults to the checkpoint's scheduler
            config (SD 2.x 768 checkpoints are v-prediction), or epsilon
            for presets.
        vae (str, optional): A local ``AutoencoderKL`` folder that replaces
            the VAE (e.g. one fitted by ``tools/fit_vae.py`` for a preset,
            or a fine-tuned SD VAE). Defaults to None.
        seed (int): Seed of a preset's random weights. Defaults to 0.
        vae_channels (int): Input and output channels of a preset's VAE:
            3 for RGB, one per class plus ignore for one-hot masks
            (:mod:`~dldm_mmseg.utils.mask_encoding`). Defaults to 3.
        latent_channels (int, optional): Latent channels of a preset's
            VAE. Defaults to None: those of the ``vae`` folder when one
            is given, else the preset's (4). A preset's UNet takes and
            predicts as many channels as its VAE's latents.
        vae_scale_factor (int, optional): Downsampling factor of a preset's
            VAE, a power of 2 up to the preset's own (its first levels):
            ``2`` on 32-pixel scenes gives the ``'small'`` UNet the 16 x 16
            latents it has on 64-pixel ones. Defaults to None: that of the
            ``vae`` folder when one is given, else the preset's.

    Returns:
        SDComponents: All parts in float32, in eval mode, frozen.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    vae_folder = vae
    if vae_folder is not None and not osp.isfile(
            osp.join(vae_folder, 'config.json')):
        raise FileNotFoundError(
            f'VAE folder {vae_folder} has no config.json; expected an '
            'AutoencoderKL.save_pretrained folder (tools/fit_vae.py '
            'writes one)')
    folder_config = None if vae_folder is None else \
        AutoencoderKL.load_config(vae_folder)
    folder_latents = None if folder_config is None else \
        folder_config.get('latent_channels', 4)
    if latent_channels is not None:
        if pretrained is not None:
            raise ValueError(
                f'latent_channels={latent_channels} sets a preset\'s '
                f'latents; the UNet of {pretrained} fixes its own: leave it '
                'out')
        if latent_channels < 1:
            raise ValueError(f'latent_channels must be >= 1, got '
                             f'{latent_channels}')
        if folder_latents not in (None, latent_channels):
            raise ValueError(
                f'latent_channels={latent_channels}, but the VAE '
                f'{vae_folder} has {folder_latents}-channel latents; leave '
                'latent_channels out to take the VAE\'s')
    if vae_scale_factor is not None:
        if pretrained is not None:
            raise ValueError(
                f'vae_scale_factor={vae_scale_factor} sets a preset\'s VAE; '
                f'{pretrained} has its own: leave it out')
        folder_factor = None if folder_config is None else \
            downsampling(folder_config['block_out_channels'])
        if folder_factor not in (None, vae_scale_factor):
            raise ValueError(
                f'vae_scale_factor={vae_scale_factor}, but the VAE '
                f'{vae_folder} downsamples by {folder_factor}; leave '
                'vae_scale_factor out to take the VAE\'s')
    if (pretrained is None) == (preset is None):
        raise ValueError('give exactly one of pretrained (a local diffusers '
                         'folder) and preset (tiny, small, sd15)')
    if prediction_type not in (None, 'epsilon', 'v_prediction'):
        raise ValueError(f'prediction_type must be epsilon or v_prediction, '
                         f'got {prediction_type!r}')
    if pretrained is not None:
        check_pretrained_folder(pretrained)
        # fp16 checkpoints (e.g. the demo's shipped weights) load as fp32:
        # the model casts frozen parts to frozen_dtype itself
        kwargs = dict(local_files_only=True, torch_dtype=torch.float32)
        unet = UNet2DConditionModel.from_pretrained(
            pretrained, subfolder='unet', **kwargs)
        vae = AutoencoderKL.from_pretrained(pretrained, subfolder='vae',
                                            **kwargs)
        text_encoder = CLIPTextModel.from_pretrained(
            pretrained, subfolder='text_encoder', **kwargs)
        tokenizer = CLIPTokenizer.from_pretrained(
            pretrained, subfolder='tokenizer', local_files_only=True)
        from diffusers import DDPMScheduler
        config = DDPMScheduler.load_config(pretrained, subfolder='scheduler',
                                           local_files_only=True)
        scheduler = _scheduler(
            prediction_type or config.get('prediction_type', 'epsilon'),
            config)
    else:
        if preset not in PRESETS:
            raise ValueError(f'unknown preset {preset!r}; choose one of '
                             f'{sorted(PRESETS)}')
        spec = PRESETS[preset]
        latents = latent_channels or folder_latents or \
            spec['vae']['latent_channels']
        tokenizer = build_clip_tokenizer()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            unet = UNet2DConditionModel(
                in_channels=latents, out_channels=latents, **spec['unet'])
            vae = AutoencoderKL(in_channels=vae_channels,
                                out_channels=vae_channels,
                                **dict(preset_vae(spec['vae'],
                                                  vae_scale_factor),
                                       latent_channels=latents))
            text_encoder = CLIPTextModel(CLIPTextConfig(
                vocab_size=len(tokenizer), max_position_embeddings=77,
                bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id, **spec['text']))
        scheduler = _scheduler(prediction_type or 'epsilon')
    if vae_folder is not None:
        vae = AutoencoderKL.from_pretrained(vae_folder, local_files_only=True,
                                            torch_dtype=torch.float32)
    if vae.config.latent_channels != unet.config.out_channels:
        raise ValueError(
            f'the VAE {vae_folder or pretrained} has '
            f'{vae.config.latent_channels}-channel latents, the UNet of '
            f'{pretrained or preset} predicts {unet.config.out_channels}; '
            'give a VAE with the UNet\'s latent channels (or a preset, whose '
            'UNet follows its VAE)')
    for module in (unet, vae, text_encoder):
        module.requires_grad_(False)
        module.eval()
    return SDComponents(unet, vae, text_encoder, tokenizer, scheduler)


def downsampling(block_out_channels) -> int:
    """A diffusers VAE's downsampling factor from its levels' widths: 2
    for each level after the first."""
    return 2 ** (len(block_out_channels) - 1)


def preset_vae(vae: dict, scale_factor: Optional[int] = None) -> dict:
    """A preset's ``AutoencoderKL`` arguments downsampling by
    ``scale_factor`` (its first levels; None: all of them).

    Raises:
        ValueError: ``scale_factor`` is not a power of 2 from 1 to the
            preset's own factor.
    """
    if scale_factor is None:
        return vae
    own = downsampling(vae['block_out_channels'])
    if scale_factor < 1 or scale_factor & (scale_factor - 1) or \
            scale_factor > own:
        raise ValueError(f'vae_scale_factor must be a power of 2 from 1 to '
                         f"the preset's {own}, got {scale_factor}")
    keep = scale_factor.bit_length()
    return dict(vae, **{key: tuple(vae[key][:keep]) for key in (
        'block_out_channels', 'down_block_types', 'up_block_types')})


def controlnet_conditioning_channels(vae_scale_factor: int) -> tuple:
    """ControlNet's condition-embedding widths for a VAE downsampling
    factor: the embedding must shrink the pixel-space mask to latent size
    (SD's factor 8 gives diffusers' default (16, 32, 96, 256))."""
    levels = int(math.log2(vae_scale_factor)) + 1
    return (16, 32, 96, 256, 256)[:levels]


def inference_scheduler(name: str, train_config):
    """A sampling scheduler built from the training noise schedule."""
    from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler,
                           EulerAncestralDiscreteScheduler,
                           EulerDiscreteScheduler, UniPCMultistepScheduler)
    factories = {
        'dpmsolver++': lambda c: DPMSolverMultistepScheduler.from_config(
            c, algorithm_type='dpmsolver++'),
        'ddim': DDIMScheduler.from_config,
        'euler': EulerDiscreteScheduler.from_config,
        'euler_a': EulerAncestralDiscreteScheduler.from_config,
        'unipc': UniPCMultistepScheduler.from_config,
    }
    if name not in factories:
        raise ValueError(f'unknown scheduler {name!r}; choose one of '
                         f'{sorted(factories)}')
    return factories[name](train_config)


def load_pretrained_into(parts, export: str) -> None:
    """Copy ``save_pretrained`` folders into live modules.

    Args:
        parts: ``(module, diffusers/transformers class, folder)`` triples.
        export (str): The export folder, named in errors.

    Raises:
        ValueError: When a folder's architecture differs from its module's.
    """
    for module, cls, folder in parts:
        loaded = cls.from_pretrained(folder, local_files_only=True)
        try:
            module.load_state_dict(loaded.state_dict())
        except RuntimeError as e:
            raise ValueError(
                f'the {type(module).__name__} in {folder} does not fit this '
                f'model\'s architecture (export {export}): {e}') from e
