"""What a synthesis run needs around the generators: loading a trained
generator from a synth config's entry, and kernels that give the same
numbers on every run."""
import contextlib

import torch
from mmengine.config import Config
from mmseg.registry import MODELS


@contextlib.contextmanager
def deterministic_kernels(enabled: bool = True):
    """cuDNN/TF32 settings that give the same result on every run for the
    same shapes (a resumed run must match an uninterrupted one). Restored
    on exit."""
    if not enabled:
        yield
        return
    saved = (torch.backends.cudnn.benchmark,
             torch.backends.cudnn.deterministic,
             torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.allow_tf32)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
         torch.backends.cuda.matmul.allow_tf32,
         torch.backends.cudnn.allow_tf32) = saved


def load_generator(spec: dict):
    """A trained generator from a synth config's ``mask_generator`` or
    ``image_generator`` entry: its ``config``, optional ``model`` overrides
    (e.g. another SD folder) and the exported ``weights``.

    Raises:
        ValueError: When ``weights`` is missing.
    """
    cfg = Config.fromfile(spec['config'])
    cfg.merge_from_dict({f'model.{k}': v
                         for k, v in (spec.get('model') or {}).items()})
    model = MODELS.build(cfg.model)
    weights = spec.get('weights')
    if not weights:
        raise ValueError(f'generator {spec["config"]} has no "weights": '
                         'point it at work_dir/export/final of its run')
    model.load_export(weights)
    return model
