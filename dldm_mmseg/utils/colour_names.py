"""Plain colour words for RGB colours (``dark green``, ``light grey``).

A colour is named from its CIELAB coordinates: lightness ``L*`` gives
``dark`` / ``light`` (or black / white at the ends for greys), a
saturation ``C* / sqrt(C*^2 + L*^2)`` below :data:`GREY_SATURATION` gives a
grey (saturation rather than chroma, so that the dark greens of shaded
vegetation keep their hue), and otherwise the hue angle picks one of
the hue words of :data:`HUES`. Dark oranges and yellows are the browns and
olives of soil and dry vegetation.
"""
from typing import Sequence

import numpy as np

#: CIELAB saturation below which a colour is a grey
GREY_SATURATION = 0.2
#: ``L*`` below which a colour is ``dark`` / above which it is ``light``
DARK_L, LIGHT_L = 40.0, 70.0
#: ``L*`` of black (below) and of white (above, for greys)
BLACK_L, WHITE_L = 15.0, 90.0
#: hue words by the upper end of their CIELAB hue angle (degrees), in order
HUES = ((25.0, 'pink'), (55.0, 'red'), (75.0, 'orange'), (110.0, 'yellow'),
        (200.0, 'green'), (235.0, 'cyan'), (305.0, 'blue'),
        (345.0, 'purple'), (360.0, 'pink'))
#: the name of a dark hue where it has one of its own
DARK_HUES = {'orange': 'brown', 'yellow': 'olive'}

_D65_WHITE = np.array([0.95047, 1.0, 1.08883])
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])


def srgb_to_lab(rgb) -> np.ndarray:
    """CIELAB (D65) of sRGB colours.

    Args:
        rgb (array-like): ``... x 3`` sRGB colours, 0-255.

    Returns:
        np.ndarray: ``... x 3`` ``L*, a*, b*``.

    Raises:
        ValueError: The last axis is not 3 long.
    """
    rgb = np.asarray(rgb, dtype=np.float64) / 255.0
    if rgb.shape[-1] != 3:
        raise ValueError(f'colours need 3 channels (RGB), got shape '
                         f'{rgb.shape}')
    linear = np.where(rgb <= 0.04045, rgb / 12.92,
                      ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _D65_WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz),
                 xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def colour_name(rgb: Sequence[float]) -> str:
    """The colour word of one sRGB colour, e.g. ``'dark green'``.

    Args:
        rgb (Sequence[float]): ``R, G, B`` in 0-255.

    Returns:
        str: One of :func:`colour_words`.

    Raises:
        ValueError: ``rgb`` is not three finite numbers.
    """
    if np.shape(rgb) != (3,) or not np.isfinite(rgb).all():
        raise ValueError(f'colour_name needs three finite numbers (R, G, B '
                         f'in 0-255), got {rgb!r}')
    lightness, a, b = srgb_to_lab(rgb)
    chroma = np.hypot(a, b)
    if chroma <= GREY_SATURATION * np.hypot(chroma, lightness):
        if lightness < BLACK_L:
            return 'black'
        if lightness > WHITE_L:
            return 'white'
        return 'dark grey' if lightness < DARK_L else \
            'light grey' if lightness > LIGHT_L else 'grey'
    angle = float(np.degrees(np.arctan2(b, a)) % 360.0)
    hue = next((word for end, word in HUES if angle < end), HUES[-1][1])
    if lightness < DARK_L:
        return DARK_HUES.get(hue, f'dark {hue}')
    return f'light {hue}' if lightness > LIGHT_L else hue


def colour_words() -> tuple:
    """Every word :func:`colour_name` can give, longest first."""
    hues = dict.fromkeys(word for _, word in HUES)
    words = ['black', 'white', 'dark grey', 'light grey', 'grey']
    for hue in hues:
        words += [hue, f'light {hue}', DARK_HUES.get(hue, f'dark {hue}')]
    return tuple(sorted(set(words), key=lambda w: (-len(w), w)))
