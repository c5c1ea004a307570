"""LoRA adapters on SD's UNet and text encoder: added, written in the file
stock ``StableDiffusionPipeline.load_lora_weights`` reads, and read back."""
import os.path as osp
from typing import Optional, Sequence, Tuple

import torch.nn as nn

#: the file of a LoRA export, as diffusers names it
LORA_WEIGHTS_FILE = 'pytorch_lora_weights.safetensors'
UNET_LORA_TARGETS = ('to_k', 'to_q', 'to_v', 'to_out.0')
TEXT_LORA_TARGETS = ('q_proj', 'k_proj', 'v_proj', 'out_proj')


def add_lora(unet: nn.Module, text_encoder: Optional[nn.Module], rank: int,
             alpha: Optional[float] = None,
             targets: Sequence[str] = UNET_LORA_TARGETS) -> Tuple:
    """Add trainable LoRA adapters (gaussian init) to ``unet`` and, when
    given, to ``text_encoder``'s attention projections.

    Args:
        unet (nn.Module): The UNet.
        text_encoder (nn.Module, optional): The text encoder, or None to
            leave it without adapters.
        rank (int): LoRA rank, > 0.
        alpha (float, optional): LoRA alpha. Defaults to the rank.
        targets (Sequence[str]): UNet modules to adapt.

    Returns:
        tuple: ``(unet LoraConfig, text encoder LoraConfig or None)``.

    Raises:
        ValueError: When ``rank`` is not positive.
    """
    from peft import LoraConfig
    if rank <= 0:
        raise ValueError(f'lora_rank must be > 0 (or None for full '
                         f'fine-tuning), got {rank}')
    unet_config = LoraConfig(r=rank, lora_alpha=alpha or rank,
                             init_lora_weights='gaussian',
                             target_modules=list(targets))
    unet.add_adapter(unet_config)
    text_config = None
    if text_encoder is not None:
        text_config = LoraConfig(r=rank, lora_alpha=alpha or rank,
                                 init_lora_weights='gaussian',
                                 target_modules=list(TEXT_LORA_TARGETS))
        text_encoder.add_adapter(text_config)
    return unet_config, text_config


def export_lora(folder: str, unet: nn.Module, unet_config,
                text_encoder: Optional[nn.Module] = None,
                text_config=None) -> None:
    """Write the adapters' weights into ``folder`` as
    :data:`LORA_WEIGHTS_FILE` with their configs (the text encoder's when
    given)."""
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict
    text_layers = None if text_encoder is None else \
        convert_state_dict_to_diffusers(get_peft_model_state_dict(
            text_encoder))
    StableDiffusionPipeline.save_lora_weights(
        folder, unet_lora_layers=convert_state_dict_to_diffusers(
            get_peft_model_state_dict(unet)),
        text_encoder_lora_layers=text_layers,
        unet_lora_adapter_metadata=unet_config.to_dict(),
        text_encoder_lora_adapter_metadata=(
            text_config.to_dict() if text_config else None),
        safe_serialization=True)


def load_lora(path: str, unet: nn.Module,
              text_encoder: Optional[nn.Module] = None) -> None:
    """Load the LoRA weights of ``path`` (written by :func:`export_lora`,
    or any diffusers LoRA for this architecture) into the adapters of
    ``unet`` and, when given, ``text_encoder``.

    Raises:
        FileNotFoundError: When ``path`` has no :data:`LORA_WEIGHTS_FILE`.
        ValueError: When the weights do not fit the adapters (another
            rank, targets or base architecture), or hold text-encoder
            weights and ``text_encoder`` is None; naming ``path``.
    """
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import (convert_state_dict_to_peft,
                                 convert_unet_state_dict_to_peft)
    from peft.utils import set_peft_model_state_dict
    weights = osp.join(path, LORA_WEIGHTS_FILE)
    if not osp.isfile(weights):
        raise FileNotFoundError(
            f'{weights} does not exist; point at a folder written by '
            'GeneratorExportHook (work_dir/export/final) or '
            'LoRAMaskGenerator.export')
    state, _ = StableDiffusionPipeline.lora_state_dict(
        path, local_files_only=True)
    parts = [('unet.', unet, convert_unet_state_dict_to_peft)]
    if text_encoder is not None:
        parts.append(('text_encoder.', text_encoder,
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
            rank = getattr(getattr(module, 'peft_config', {}).get(
                'default'), 'r', None)
            raise ValueError(f'LoRA weights in {path} do not fit this '
                             f'model (lora_rank={rank}, base '
                             f'{type(module).__name__}): {e}') from e
        unexpected = getattr(result, 'unexpected_keys', [])
        if unexpected or not sub:
            raise ValueError(
                f'LoRA weights in {path} do not match this model\'s '
                f'adapters ({len(unexpected)} unexpected keys, e.g. '
                f'{unexpected[:2]}); check lora_targets and the base '
                'model of the config')
