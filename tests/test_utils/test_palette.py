import numpy as np
import pytest
import torch

from dldm_mmseg.utils.palette import (blend_conflicts, ignore_colour,
                                      index_to_rgb,
                                      nearest_palette_index,
                                      nearest_palette_index_torch,
                                      palette_logits,
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
    rgb = torch.tensor(PALETTE, dtype=torch.float32)
    rgb = rgb.T.reshape(1, 3, 2, 3) / 255
    probs = soft_class_probs(rgb, PALETTE, temperature=0.01)
    assert torch.allclose(probs.sum(1), torch.ones(1, 2, 3))
    assert probs.argmax(1).flatten().tolist() == [0, 1, 2, 3, 4, 5]
    assert nearest_palette_index(
        np.array(PALETTE).reshape(2, 3, 3), PALETTE).flatten().tolist() == \
        [0, 1, 2, 3, 4, 5]


def test_black_quantises_to_ignore_not_to_a_class():
    # black is equidistant from blue, green and red: without an ignore
    # colour argmin picked building and boundary lines became buildings
    rgb = np.array([[[0, 0, 0], [10, 5, 20], [0, 0, 255]]], np.uint8)
    assert nearest_palette_index(rgb, PALETTE).tolist() == [[255, 255, 1]]
    assert nearest_palette_index(rgb, PALETTE, with_ignore=False)[0, 0] != 255


def test_reserved_ignore_colour_round_trips_for_any_palette():
    assert ignore_colour(PALETTE) == (0, 0, 0)
    with_black = [[0, 0, 0], [255, 255, 255], [255, 0, 0]]
    reserved = ignore_colour(with_black)
    assert list(reserved) not in with_black
    index = np.array([[0, 1, 2, 255]], np.uint8)
    rgb = index_to_rgb(index, with_black)
    assert rgb[0, 3].tolist() == list(reserved)
    assert nearest_palette_index(rgb, with_black).tolist() == index.tolist()
    # a black/white palette: grey borders stay black or white, never ignore
    binary = [[0, 0, 0], [255, 255, 255]]
    grey = np.full((1, 1, 3), 128, np.uint8)
    assert nearest_palette_index(grey, binary)[0, 0] in (0, 1)
    assert blend_conflicts(binary) == []
    assert ignore_colour([[0, 0, 0]]) != (0, 0, 0)  # one black class


def test_blend_conflicts_name_the_third_class_a_border_turns_into():
    legend = [[255, 0, 0], [0, 120, 0], [150, 110, 60]]
    names = ['developed', 'forest', 'shrubland']
    assert blend_conflicts(legend, names) == [
        ('developed', 'forest', 'shrubland')]
    assert nearest_palette_index(np.array([[[128, 60, 0]]], np.uint8),
                                 legend)[0, 0] == 2
    # ties are no conflict: Potsdam's blue/red blend is as near black
    assert blend_conflicts(PALETTE) == []
    # four colours of a regular tetrahedron (black for ignore among them)
    assert blend_conflicts([[255, 255, 0], [255, 0, 255], [0, 255, 255]]) \
        == []


def test_palette_logits_keep_a_gradient_for_confidently_wrong_pixels():
    pal = torch.tensor(PALETTE, dtype=torch.float32) / 255
    # drawn exactly in building blue where the label says impervious
    rgb = pal[1].view(1, 3, 1, 1).clone().requires_grad_(True)
    logits = palette_logits(rgb, PALETTE)
    assert logits.shape == (1, 7, 1, 1)  # 6 classes + ignore
    ce = -logits.log_softmax(1)[0, 0].sum()
    grad, = torch.autograd.grad(ce, rgb)
    assert grad.norm() > 1.0
    rgb2 = pal[1].view(1, 3, 1, 1).clone().requires_grad_(True)
    p_true = palette_logits(rgb2, PALETTE).softmax(1)[0, 0].sum()
    grad2, = torch.autograd.grad(p_true, rgb2)
    assert grad2.norm() > 1e-3  # was ~1e-16 with the old temperature
    # no clamp: a decoded value past white still has a gradient
    over = torch.full((1, 3, 1, 1), 1.1, requires_grad=True)
    (-palette_logits(over, PALETTE).log_softmax(1)[0, 0].sum()).backward()
    assert over.grad.abs().sum() > 0
    # a pixel on a colour is 1 / temperature nats above the nearest other
    top2 = palette_logits(pal[2].view(1, 3, 1, 1), PALETTE)[0, :, 0, 0]
    gap = top2.sort(descending=True).values[:2]
    assert float(gap[0] - gap[1]) == pytest.approx(4.0, rel=1e-5)


def test_torch_quantisation_matches_numpy_including_ties():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(2, 16, 16, 3)).astype(np.uint8)
    rgb[0, 0, 0] = (0, 0, 0)          # ignore colour
    rgb[0, 0, 1] = (0, 128, 128)      # equidistant from several colours
    for with_ignore in (True, False):
        expected = nearest_palette_index(rgb, PALETTE, with_ignore)
        got = nearest_palette_index_torch(torch.from_numpy(rgb), PALETTE,
                                          with_ignore).numpy()
        assert np.array_equal(got, expected)
