"""Segmentor-side label transforms for synthetic training pairs.

A synthetic pair's mask is what stage 2 was asked to paint, not what it
painted: where the painted edges miss the mask's, the labels near a class
boundary are wrong. :class:`IgnoreClassBoundaries` leaves those pixels
unlabelled, as ISPRS's eroded ("noBoundary") Potsdam and Vaihingen labels
do for theirs. Put it in the
:class:`~dldm_mmseg.datasets.DiffusionSynthDataset` pipeline of a mixed
config, after ``LoadAnnotations``::

    dict(type='DiffusionSynthDataset', ...,
         pipeline=[dict(type='LoadImageFromFile'),
                   dict(type='LoadAnnotations', reduce_zero_label=True),
                   dict(type='IgnoreClassBoundaries', width=1),
                   dict(type='RandomFlip', prob=0.5),
                   dict(type='PackSegInputs')])

(``configs/demo/brazil/deeplabv3plus_brazil_syn40_eroded.py`` is one.)
"""
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS
from .transforms import _label_map


def _band_width(width) -> int:
    """``width`` as a whole number of pixels >= 1, or a ValueError."""
    if int(width) != width or width < 1:
        raise ValueError(f'width must be a whole number of pixels >= 1, '
                         f'got {width!r}')
    return int(width)


def class_boundary_band(label: np.ndarray, width: int,
                        ignore_index: int = 255) -> np.ndarray:
    """Where ``label`` has a pixel of another class within ``width``
    pixels (Chebyshev distance: the ``(2 width + 1)``-square around it).

    Both sides of a boundary are in the band. Ignored pixels neither are
    in it nor make one, and the map's border makes none.

    Args:
        label (np.ndarray): ``H x W`` class indices.
        width (int): The band's half-width in pixels, at least 1.
        ignore_index (int): The label of unlabelled pixels.

    Returns:
        np.ndarray: ``H x W`` bool, True in the band.
    """
    width = _band_width(width)
    height, breadth = label.shape
    padded = np.pad(label, width, mode='edge')
    band = np.zeros(label.shape, bool)
    for dy in range(-width, width + 1):
        for dx in range(-width, width + 1):
            if dy == 0 and dx == 0:
                continue
            neighbour = padded[width + dy:width + dy + height,
                               width + dx:width + dx + breadth]
            band |= (neighbour != label) & (neighbour != ignore_index)
    return band & (label != ignore_index)


@TRANSFORMS.register_module()
class IgnoreClassBoundaries(BaseTransform):
    """Set the ``gt_seg_map`` pixels within ``width`` pixels of another
    class to ``ignore_index`` (:func:`class_boundary_band`), so that the
    loss skips them.

    Place it after any resize, so that ``width`` counts the pixels the
    segmentor sees. Sets ``boundary_ignored`` in the results (the number
    of pixels it ignored), which ``PackSegInputs`` does not pass on.

    Args:
        width (int): The band's half-width in pixels; both sides of a
            boundary lose ``width`` pixels. Defaults to 1.
        ignore_index (int): The label the loss ignores. Defaults to 255,
            mmseg's.
    """

    def __init__(self, width: int = 1, ignore_index: int = 255):
        self.width = _band_width(width)
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        label = _label_map(results)
        band = class_boundary_band(label, self.width, self.ignore_index)
        label = label.copy()
        label[band] = self.ignore_index
        results['gt_seg_map'] = label
        results['boundary_ignored'] = int(band.sum())
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(width={self.width}, '
                f'ignore_index={self.ignore_index})')
