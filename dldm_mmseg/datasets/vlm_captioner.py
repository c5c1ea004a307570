"""Free-text captions of aerial patches from a local vision-language model
(Qwen2-VL class, through transformers, ``local_files_only``), used by
:func:`dldm_mmseg.datasets.captioning.write_captions` when ``--vlm`` is
given."""
import os.path as osp
from typing import List, Optional, Sequence

import torch
from mmengine.device import get_device

DEFAULT_VLM_PROMPT = (
    'Describe this aerial image in one short sentence: the land cover, '
    'buildings, roads, vegetation and vehicles you see. Do not give numbers.')


class VLMCaptioner:
    """Batched captions from a local vision-language model (Qwen2-VL class).

    The tokenizer and image processor are used directly rather than through
    ``AutoProcessor``: Qwen2-VL's processor also builds a video processor,
    which needs torchvision (there is no CPU build of it on many machines).
    The processor's one model-specific step, expanding ``<|image_pad|>`` to
    one token per merged image patch, is done here.

    Args:
        model_dir (str): Folder with the model, tokenizer and image
            processor in the transformers layout; nothing is downloaded.
        prompt (str): Instruction given with each image.
        max_new_tokens (int): Caption length limit. Defaults to 60.
        device (str): Torch device. Defaults to ``'cuda'`` if available.
    """

    TEMPLATE = ('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n'
                '<|im_start|>user\n<|vision_start|>{image}<|vision_end|>'
                '{prompt}<|im_end|>\n<|im_start|>assistant\n')

    def __init__(self, model_dir: str, prompt: str = DEFAULT_VLM_PROMPT,
                 max_new_tokens: int = 60, device: Optional[str] = None):
        # transformers' VLM classes are heavy to import, and only --vlm
        # needs them
        from transformers import (AutoImageProcessor,
                                  AutoModelForImageTextToText, AutoTokenizer)
        if not osp.isfile(osp.join(model_dir, 'config.json')):
            raise FileNotFoundError(
                f'{model_dir} is not a transformers model folder (no '
                'config.json); point --vlm at a local Qwen2-VL folder such as '
                'Qwen2-VL-2B-Instruct, or leave it out for template captions')
        self.device = device or get_device()
        self.tokenizer = AutoTokenizer.from_pretrained(
            model_dir, local_files_only=True)
        self.tokenizer.padding_side = 'left'
        self.image_processor = AutoImageProcessor.from_pretrained(
            model_dir, local_files_only=True)
        dtype = torch.bfloat16 if self.device.startswith('cuda') else \
            torch.float32
        self.model = AutoModelForImageTextToText.from_pretrained(
            model_dir, local_files_only=True, dtype=dtype).to(self.device)
        self.model.eval()
        self.prompt = prompt
        self.max_new_tokens = max_new_tokens
        self.merge_size = getattr(self.image_processor, 'merge_size', 2)
        self.source = f'vlm:{osp.basename(osp.normpath(model_dir))}'

    def __call__(self, images: Sequence) -> List[str]:
        """Caption a batch of PIL images."""
        vision = self.image_processor(images=list(images), return_tensors='pt')
        tokens_per_image = (vision['image_grid_thw'].prod(-1)
                            // self.merge_size**2).tolist()
        texts = [self.TEMPLATE.format(image='<|image_pad|>' * n,
                                      prompt=self.prompt)
                 for n in tokens_per_image]
        inputs = self.tokenizer(texts, return_tensors='pt', padding=True)
        inputs.update(vision)
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        with torch.inference_mode():
            out = self.model.generate(
                **inputs, do_sample=False, max_new_tokens=self.max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id)
        new_tokens = out[:, inputs['input_ids'].shape[1]:]
        captions = self.tokenizer.batch_decode(new_tokens,
                                               skip_special_tokens=True)
        return [' '.join(t.split()) for t in captions]
