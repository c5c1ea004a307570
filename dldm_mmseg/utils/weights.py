"""Half-precision copies of ``save_pretrained`` folders, for shipping
weights (e.g. the demo's pretrained generators) at half the size."""
import os
import os.path as osp
import shutil

from .io import atomic_directory


def half_precision_copy(src: str, dst: str) -> int:
    """Copy a diffusers/transformers weights folder with every floating
    tensor of its ``.safetensors`` files in fp16; other files (configs)
    are copied as they are. The layout is kept, so ``from_pretrained``
    reads the copy (:func:`~dldm_mmseg.models.generators.
    build_sd_components` and the generators' ``load_export`` load it back
    in fp32).

    Args:
        src (str): A folder written by ``save_pretrained`` (subfolders
            such as ``unet/`` included).
        dst (str): The copy; replaced atomically when it exists.

    Returns:
        int: Size of the copy in bytes.

    Raises:
        FileNotFoundError: When ``src`` holds no ``.safetensors`` file.
    """
    import torch
    from safetensors.torch import load_file, save_file
    weights = [osp.join(root, name) for root, _, names in os.walk(src)
               for name in names if name.endswith('.safetensors')]
    if not weights:
        raise FileNotFoundError(f'{src} holds no .safetensors file; expected '
                                'a save_pretrained folder')
    size = 0
    with atomic_directory(dst) as tmp:
        for root, _, names in os.walk(src):
            out_root = osp.join(tmp, osp.relpath(root, src))
            os.makedirs(out_root, exist_ok=True)
            for name in names:
                path, out = osp.join(root, name), osp.join(out_root, name)
                if name.endswith('.safetensors'):
                    tensors = {k: v.half() if v.is_floating_point() else v
                               for k, v in load_file(path).items()}
                    save_file(tensors, out, metadata={'format': 'pt'})
                else:
                    shutil.copyfile(path, out)
                size += osp.getsize(out)
    return size
