"""Colour mask <-> class index conversion, hard and differentiable.

The one module that knows how classes map to palette colours: dataset
preparation turns colour-coded ground truth into indices, the mask generator
turns decoded RGB into class logits (negative squared distances to the
palette colours), and synthesis quantises generated masks to the nearest
palette colour.

Ignore pixels (label 255, e.g. the boundary lines of ISPRS noBoundary
labels) have one reserved colour, :func:`ignore_colour`: black unless a class
uses black. Rendering draws ignore pixels in it, quantisation maps pixels
nearest to it back to 255, and the differentiable class logits give it a
column of its own, so the generators learn, draw and are conditioned on
ignore regions the same way in training and synthesis.
"""
import itertools
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

Palette = Union[Sequence[Sequence[int]], np.ndarray]
IGNORE_INDEX = 255


def _palette_array(palette: Palette) -> np.ndarray:
    arr = np.asarray(palette, dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f'a palette is a list of RGB triplets, got shape '
                         f'{arr.shape}')
    return arr


def ignore_colour(palette: Palette) -> Tuple[int, int, int]:
    """The reserved colour of ignore pixels for ``palette``.

    Black, as in the ISPRS labels, unless a class is black; then the colour
    of the RGB cube's 3 x 3 x 3 grid (levels 0, 128, 255) farthest from every
    class colour and from the even blend of every two, so quantisation
    confuses it neither with a class nor with the border between two (for
    a black/white palette, a blue chosen by class colours alone is nearer
    to grey than black and white are, and building outlines became
    ignore).
    """
    pal = _palette_array(palette)
    if not (pal == 0).all(1).any():
        return (0, 0, 0)
    grid = np.array(list(itertools.product((0, 128, 255), repeat=3)))
    blends = [(pal[a] + pal[b]) / 2.0
              for a, b in itertools.combinations(range(len(pal)), 2)]
    avoid = np.concatenate([pal.astype(np.float64),
                            np.reshape(blends, (-1, 3))])
    dist = ((grid[:, None] - avoid[None]) ** 2).sum(-1).min(1)
    return tuple(int(v) for v in grid[int(dist.argmax())])


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
            out[~known] = nearest_palette_index(
                rgb[~known][:, None, :3], pal, with_ignore=False)[:, 0]
        elif off_palette != 'ignore':
            raise ValueError(f'off_palette must be error, nearest or ignore, '
                             f'got {off_palette!r}')
    return out


def index_to_rgb(index: np.ndarray, palette: Palette,
                 ignore_color: Optional[Sequence[int]] = None) -> np.ndarray:
    """Render class indices as colours; values outside the palette (the
    ignore value 255) get ``ignore_color``, by default the reserved
    :func:`ignore_colour` of the palette."""
    pal = _palette_array(palette).astype(np.uint8)
    if ignore_color is None:
        ignore_color = ignore_colour(pal)
    lut = np.tile(np.asarray(ignore_color, dtype=np.uint8), (256, 1))
    lut[:len(pal)] = pal
    return lut[np.asarray(index).astype(np.uint8)]


def nearest_palette_index(rgb: np.ndarray, palette: Palette,
                          with_ignore: bool = True) -> np.ndarray:
    """Hard quantisation: index of the nearest palette colour per pixel.

    Args:
        rgb (np.ndarray): ``... x 3`` colours (0..255).
        palette: One RGB colour per class.
        with_ignore (bool): Pixels nearest to the reserved
            :func:`ignore_colour` become ``IGNORE_INDEX`` (255). False snaps
            every pixel to a class. Defaults to True.

    Returns:
        np.ndarray: uint8 indices, shape ``rgb.shape[:-1]``.
    """
    pal = _palette_array(palette)
    colours = _with_ignore_colour(pal) if with_ignore else pal
    colours = colours.astype(np.float32)
    shape = np.asarray(rgb).shape[:-1]
    flat = np.asarray(rgb, dtype=np.float32).reshape(-1, 3)
    out = np.empty(len(flat), dtype=np.uint8)
    for start in range(0, len(flat), 1 << 18):  # bounded memory
        part = flat[start:start + (1 << 18)]
        dist = ((part[:, None, :] - colours[None]) ** 2).sum(-1)
        out[start:start + len(part)] = dist.argmin(1)
    if with_ignore:
        out[out == len(pal)] = IGNORE_INDEX
    return out.reshape(shape)


def nearest_palette_index_torch(rgb: torch.Tensor, palette: Palette,
                                with_ignore: bool = True) -> torch.Tensor:
    """:func:`nearest_palette_index` on a ``... x 3`` uint8 tensor, on its
    device (same result: integer distances, first colour on ties)."""
    pal = _palette_array(palette)
    colours = torch.as_tensor(
        _with_ignore_colour(pal) if with_ignore else pal,
        dtype=torch.int32, device=rgb.device)
    diff = rgb.to(torch.int32).unsqueeze(-2) - colours
    out = (diff * diff).sum(-1).argmin(-1).to(torch.uint8)
    if with_ignore:
        out[out == len(pal)] = IGNORE_INDEX
    return out


def neighbourhood_palette_index_torch(rgb: torch.Tensor, palette: Palette,
                                      window: int = 5,
                                      confident: float = 0.25,
                                      with_ignore: bool = True
                                      ) -> torch.Tensor:
    """Boundary-aware quantisation of ``N x H x W x 3`` uint8 colours.

    A decoder blends the colours of two classes where they meet, and the
    blend may lie nearest to a third class's colour (red and green make a
    brown nearest to shrubland): nearest-colour quantisation then draws a
    rim of that class along every such border. Here a pixel takes the
    nearest colour among the classes drawn *confidently* in its
    ``window x window`` neighbourhood (pixels within ``confident`` times
    the smallest distance between two colours of their nearest colour); a
    blend between two classes can only become one of them, while a region
    really drawn in the third colour keeps it. A pixel with no confident
    pixel around takes its plain nearest colour.

    Args:
        rgb (torch.Tensor): ``N x H x W x 3`` uint8.
        palette: One RGB colour per class.
        window (int): Odd neighbourhood size. Defaults to 5.
        confident (float): See above, in (0, 0.5]. Defaults to 0.25.
        with_ignore (bool): As in :func:`nearest_palette_index`.

    Returns:
        torch.Tensor: ``N x H x W`` uint8 indices (255 = ignore).
    """
    _check_neighbourhood(window, confident)
    pal = _palette_array(palette)
    colours = _with_ignore_colour(pal) if with_ignore else pal
    centres = torch.as_tensor(colours, dtype=torch.float32,
                              device=rgb.device)
    dist = (rgb.float().unsqueeze(-2) - centres).pow(2).sum(-1)
    nearest_dist, nearest = dist.min(-1)
    pair = (centres[:, None] - centres[None]).pow(2).sum(-1)
    spacing = pair[~torch.eye(len(centres), dtype=torch.bool,
                              device=rgb.device)].min()
    sure = nearest_dist <= spacing * confident ** 2
    drawn = F.one_hot(nearest, len(centres)).float() * sure.unsqueeze(-1)
    around = F.max_pool2d(drawn.permute(0, 3, 1, 2), window, stride=1,
                          padding=window // 2).permute(0, 2, 3, 1) > 0
    choice = dist.masked_fill(~around, float('inf')).argmin(-1)
    out = torch.where(around.any(-1), choice, nearest).to(torch.uint8)
    if with_ignore:
        out[out == len(pal)] = IGNORE_INDEX
    return out


def blend_conflicts(palette: Palette, classes: Optional[Sequence[str]] = None,
                    with_ignore: bool = True) -> list:
    """Pairs of colours whose even blend lies nearer to a third colour than
    to either of them: where those two classes meet, a decoder's blend is
    quantised to the third (red and green make a brown nearest to a brown
    class).

    No palette of more than eight colours (the ignore colour counted) is
    free of them: that needs every triangle of colours to have no obtuse
    angle, and at most 2^3 = 8 points of 3-D space can be so placed (the
    corners of a cube, Danzer and Gruenbaum 1962); beyond five (Croft 1961)
    some blends are exactly as near a third colour as their own two (a tie,
    not counted here). Neighbourhood quantisation
    (:func:`neighbourhood_palette_index_torch`) removes their effect on
    quantised masks.

    Args:
        palette: One RGB colour per class.
        classes (Sequence[str], optional): Names for the result; defaults
            to the indices.
        with_ignore (bool): Count the reserved :func:`ignore_colour` as a
            possible third colour (``'ignore'``). Defaults to True.

    Returns:
        list: ``(a, b, c)`` triples: the blend of ``a`` and ``b`` is nearest
        to ``c``.
    """
    pal = _palette_array(palette)
    colours = (_with_ignore_colour(pal) if with_ignore else pal).astype(
        np.float64)
    names = list(classes) if classes is not None else list(range(len(pal)))
    if with_ignore:
        names.append('ignore')
    out = []
    for a, b in itertools.combinations(range(len(pal)), 2):
        middle = (colours[a] + colours[b]) / 2
        dist = ((colours - middle) ** 2).sum(1)
        nearest = int(dist.argmin())
        if nearest not in (a, b) and dist[nearest] < dist[a]:
            out.append((names[a], names[b], names[nearest]))
    return out


def _check_neighbourhood(window: int = 5, confident: float = 0.25) -> None:
    """The options of :func:`neighbourhood_palette_index_torch`, checked."""
    if window < 1 or window % 2 == 0:
        raise ValueError(f'window must be an odd number >= 1, got {window}')
    if not 0 < confident <= 0.5:
        raise ValueError(f'confident must be in (0, 0.5], got {confident}')


QUANTISATIONS = ('nearest', 'neighbourhood')


def palette_quantiser(palette: Palette, quantisation: Optional[dict] = None):
    """The quantiser ``quantisation`` names, as a function of ``N x H x W
    x 3`` uint8 colours returning class indices (255 = ignore).

    Args:
        palette: One RGB colour per class.
        quantisation (dict, optional): ``dict(type='nearest')`` (the
            default) or ``dict(type='neighbourhood', window=5,
            confident=0.25)`` (:func:`neighbourhood_palette_index_torch`).
    """
    options = dict(quantisation or {})
    kind = options.pop('type', 'nearest')
    if kind not in QUANTISATIONS:
        raise ValueError(f'quantisation type must be one of {QUANTISATIONS}, '
                         f'got {kind!r}')
    if kind == 'nearest':
        if options:
            raise ValueError(f'nearest quantisation takes no options, got '
                             f'{sorted(options)}')
        return lambda rgb: nearest_palette_index_torch(rgb, palette)
    unknown = sorted(set(options) - {'window', 'confident'})
    if unknown:
        raise ValueError(f'neighbourhood quantisation takes window and '
                         f'confident, got {unknown}')
    _check_neighbourhood(**options)
    return lambda rgb: neighbourhood_palette_index_torch(rgb, palette,
                                                         **options)


def _with_ignore_colour(pal: np.ndarray) -> np.ndarray:
    """The palette with the reserved ignore colour as an extra last row."""
    return np.concatenate([pal, np.asarray([ignore_colour(pal)])])


def palette_logits(rgb: torch.Tensor, palette: Palette,
                   temperature: float = 0.25,
                   with_ignore: bool = True) -> torch.Tensor:
    """Differentiable class logits of an RGB image.

    ``logit_c = -||rgb - colour_c||^2 / (d_min^2 * temperature)``, with
    colours in [0, 1] and ``d_min`` the smallest distance between two of the
    colours. Normalising by ``d_min^2`` makes ``temperature`` mean the same
    for every palette: a pixel exactly on a colour is ``1 / temperature``
    nats more likely to be that class than the nearest other one (4 nats at
    the default, p ~ 0.95). Much colder (``0.05`` on raw squared distances
    is 20 nats for Potsdam) saturates the softmax: a pixel drawn
    confidently in the wrong colour then gets a gradient of about 1e-8.
    Nothing is clamped: decoded values outside [0, 1] keep their gradient.
    Use ``log_softmax`` of these logits for cross-entropy.

    Args:
        rgb (torch.Tensor): ``N x 3 x H x W``, colours in [0, 1].
        palette: One RGB colour (0..255) per class.
        temperature (float): See above. Defaults to 0.25.
        with_ignore (bool): Add a last column for the reserved ignore colour
            (``C + 1`` logits). Defaults to True.

    Returns:
        torch.Tensor: ``N x C(+1) x H x W`` logits.
    """
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')
    pal = _palette_array(palette)
    colours = _with_ignore_colour(pal) if with_ignore else pal
    if len(np.unique(colours, axis=0)) != len(colours):
        raise ValueError(f'palette {pal.tolist()} repeats a colour; every '
                         'class needs its own')
    scaled = colours.astype(np.float64) / 255.0
    pair = ((scaled[:, None] - scaled[None]) ** 2).sum(-1)
    d_min2 = pair[~np.eye(len(scaled), dtype=bool)].min()
    centres = torch.as_tensor(scaled, dtype=torch.float32, device=rgb.device)
    diff = rgb.float().unsqueeze(1) - centres[None, :, :, None, None]
    return -(diff ** 2).sum(2) / (d_min2 * temperature)


def soft_share_calibration(palette: Palette,
                           temperature: float = 0.25) -> torch.Tensor:
    """``C x C`` soft shares of pixels drawn exactly on each colour.

    Row ``c`` is the softmax of :func:`palette_logits` (with the ignore
    column, dropped here) at colour ``c``: what a pixel drawn perfectly in
    class ``c`` adds to each class's soft share. Soft shares are biased
    toward uniform (at the default temperature a 1% class of a perfect mask
    reads about 2.7%); ``target_shares @ M`` are the soft shares a perfect
    mask with ``target_shares`` has, the unbiased target for them.

    Args:
        palette: One RGB colour (0..255) per class.
        temperature (float): As in :func:`palette_logits`. Defaults to 0.25.

    Returns:
        torch.Tensor: ``C x C`` float32, rows of the true class.
    """
    pal = _palette_array(palette)
    rgb = torch.as_tensor(pal.T[None, :, :, None] / 255.0,
                          dtype=torch.float32)  # 1 x 3 x C x 1
    probs = soft_class_probs(rgb, pal, temperature, with_ignore=True)
    return probs[0, :len(pal), :, 0].T.contiguous()


def soft_class_probs(rgb: torch.Tensor, palette: Palette,
                     temperature: float = 0.25,
                     with_ignore: bool = False) -> torch.Tensor:
    """Class probabilities from an RGB image: the softmax of
    :func:`palette_logits` (``C`` columns, or ``C + 1`` with the ignore
    colour last)."""
    return palette_logits(rgb, palette, temperature, with_ignore).softmax(1)
