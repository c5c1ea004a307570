"""Export and reload of the mask generator's trained weights: LoRA in the
file stock ``StableDiffusionPipeline.load_lora_weights`` reads, or the
fully fine-tuned networks in the diffusers layout."""
import json
import os.path as osp

from dldm_mmseg.utils.io import atomic_directory
from .components import load_pretrained_into
from .share_conditioning import (SHARE_EMBEDDING_FILE,
                                 export_share_embedding, load_share_embedding)


class MaskExportMixin:
    """For :class:`LoRAMaskGenerator` (its ``unet``, ``text_encoder``,
    ``full_finetune``, ``train_text_encoder``, ``lora_config``,
    ``text_lora_config``, ``share_conditioned``, ``classes`` and
    ``ema_weights``)."""

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
            if self.share_conditioned:
                export_share_embedding(self.unet, self.classes, tmp)
        return osp.abspath(out_dir)

    def _load_export(self, path: str) -> None:
        """Load LoRA weights written by :meth:`export` (or any diffusers
        LoRA for this architecture) into the adapters.

        Raises:
            FileNotFoundError: When ``path`` has no LoRA weights file, or
                no share embedding for a share-conditioned config.
            ValueError: When the weights do not fit this model (another
                rank, targets or base architecture, share conditioning on
                one side only), naming the export.
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
