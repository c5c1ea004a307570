"""The one map from config names to torch dtypes."""
import torch

#: ``frozen_dtype`` of the generators and ``dtype`` of synthesis configs
DTYPES = {None: None, 'fp32': torch.float32, 'fp16': torch.float16,
          'bf16': torch.bfloat16}
