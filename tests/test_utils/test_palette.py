import numpy as np
import pytest
import torch

from dldm_mmseg.utils.palette import (index_to_rgb, nearest_palette_index,
                                      rgb_to_index, soft_class_probs)
from fixtures import POTSDAM_PALETTE as PALETTE


def test_rgb_index_round_trip_and_ignore():
    index = np.array([[0, 1, 2], [3, 4, 5]], dtype=np.uint8)
    rgb = index_to_rgb(index, PALETTE)
    assert rgb[0, 1].tolist() == [0, 0, 255]  # building is blue
    assert rgb_to_index(rgb, PALETTE).tolist() == index.tolist()
    rgb[0, 0] = 0  # black boundary
    out = rgb_to_index(rgb, PALETTE, ignore_colors=[(0, 0, 0)])
    assert out[0, 0] == 255


def test_off_palette_error_names_file_and_colour():
    rgb = index_to_rgb(np.zeros((2, 2), np.uint8), PALETTE)
    rgb[1, 1] = (250, 250, 3)
    with pytest.raises(ValueError, match=r'tile\.tif.*\(250, 250, 3\)'):
        rgb_to_index(rgb, PALETTE, path='tile.tif')
    snapped = rgb_to_index(rgb, PALETTE, off_palette='nearest')
    assert snapped[1, 1] == 4  # yellow = car
    assert rgb_to_index(rgb, PALETTE, off_palette='ignore')[1, 1] == 255


def test_soft_probs_peak_at_palette_colour():
    rgb = torch.tensor(PALETTE, dtype=torch.float32).T.reshape(1, 3, 2, 3) / 255
    probs = soft_class_probs(rgb, PALETTE, temperature=0.01)
    assert torch.allclose(probs.sum(1), torch.ones(1, 2, 3))
    assert probs.argmax(1).flatten().tolist() == [0, 1, 2, 3, 4, 5]
    assert nearest_palette_index(
        np.array(PALETTE).reshape(2, 3, 3), PALETTE).flatten().tolist() == \
        [0, 1, 2, 3, 4, 5]
