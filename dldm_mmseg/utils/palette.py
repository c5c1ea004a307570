"""Colour mask <-> class index conversion, hard and differentiable.

The one module that knows how classes map to palette colours: dataset
preparation turns colour-coded ground truth into indices, the mask generator
turns decoded RGB into class probabilities (softmax over negative squared
distances to the palette colours), and synthesis quantises generated masks
to the nearest palette colour.
"""
from typing import Optional, Sequence, Union

import numpy as np
import torch

Palette = Union[Sequence[Sequence[int]], np.ndarray]


def _palette_array(palette: Palette) -> np.ndarray:
    arr = np.asarray(palette, dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f'a palette is a list of RGB triplets, got shape '
                         f'{arr.shape}')
    return arr


def _pack(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def rgb_to_index(rgb: np.ndarray, palette: Palette,
                 ignore_colors: Sequence[Sequence[int]] = (),
                 ignore_value: int = 255, off_palette: str = 'error',
                 path: Optional[str] = None) -> np.ndarray:
    """Map an ``HxWx3`` RGB colour mask to class indices by exact colour.

    Args:
        rgb (np.ndarray): RGB mask (not BGR).
        palette: One RGB colour per class; class ``i`` gets value ``i``.
        ignore_colors: Colours that become ``ignore_value``.
        ignore_value (int): Value for ignore colours. Defaults to 255.
        off_palette (str): What to do with other colours: ``'error'``,
            ``'nearest'`` (nearest palette colour) or ``'ignore'``.
            Defaults to ``'error'``.
        path (str, optional): File name for error messages.

    Returns:
        np.ndarray: uint8 ``HxW`` indices.
    """
    pal = _palette_array(palette)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f'{path or "mask"}: expected an HxWx3 colour mask, '
                         f'got shape {rgb.shape}')
    packed = _pack(rgb[..., :3])
    out = np.full(packed.shape, ignore_value, dtype=np.uint8)
    known = np.zeros(packed.shape, dtype=bool)
    for idx, colour in enumerate(_pack(pal)):
        hit = packed == colour
        out[hit] = idx
        known |= hit
    for colour in ignore_colors:
        known |= packed == _pack(np.asarray(colour))
    if not known.all():
        if off_palette == 'error':
            colours, counts = np.unique(rgb[..., :3][~known], axis=0,
                                        return_counts=True)
            top = [f'{tuple(int(v) for v in c)} x{n}' for c, n in
                   sorted(zip(colours, counts), key=lambda t: -t[1])[:5]]
            raise ValueError(
                f'{path or "mask"}: {int((~known).sum())} pixels have colours '
                f'outside the palette {pal.tolist()}: {", ".join(top)}. '
                'Pass off_palette="nearest" (CLI: --off-palette nearest) to '
                'snap them to the closest class, or "ignore" to drop them')
        if off_palette == 'nearest':
            out[~known] = nearest_palette_index(rgb[~known][:, None, :3], pal)[:, 0]
        elif off_palette != 'ignore':
            raise ValueError(f'off_palette must be error, nearest or ignore, '
                             f'got {off_palette!r}')
    return out


def index_to_rgb(index: np.ndarray, palette: Palette,
                 ignore_color: Sequence[int] = (0, 0, 0)) -> np.ndarray:
    """Render class indices as colours; values outside the palette get
    ``ignore_color``."""
    pal = _palette_array(palette).astype(np.uint8)
    lut = np.tile(np.asarray(ignore_color, dtype=np.uint8), (256, 1))
    lut[:len(pal)] = pal
    return lut[np.asarray(index).astype(np.uint8)]


def nearest_palette_index(rgb: np.ndarray, palette: Palette) -> np.ndarray:
    """Hard quantisation: index of the nearest palette colour per pixel."""
    pal = _palette_array(palette).astype(np.float32)
    flat = np.asarray(rgb, dtype=np.float32).reshape(-1, 3)
    dist = ((flat[:, None, :] - pal[None]) ** 2).sum(-1)
    return dist.argmin(1).astype(np.uint8).reshape(np.asarray(rgb).shape[:-1])


def soft_class_probs(rgb: torch.Tensor, palette: Palette,
                     temperature: float = 0.05) -> torch.Tensor:
    """Differentiable class probabilities from an RGB image.

    ``p_c = softmax_c(-||rgb - palette_c||^2 / temperature)`` with colours in
    [0, 1], so the generator's decoded mask can enter CE and L_prop.

    Args:
        rgb (torch.Tensor): ``N x 3 x H x W`` in [0, 1].
        palette: One RGB colour (0..255) per class.
        temperature (float): Softmax temperature on squared distances in
            [0, 1] colour units; smaller is closer to hard. Defaults to 0.05.

    Returns:
        torch.Tensor: ``N x C x H x W`` probabilities.
    """
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    pal = torch.as_tensor(_palette_array(palette), dtype=rgb.dtype,
                          device=rgb.device) / 255.0
    diff = rgb.unsqueeze(1) - pal[None, :, :, None, None]
    return torch.softmax(-(diff ** 2).sum(2) / temperature, dim=1)
