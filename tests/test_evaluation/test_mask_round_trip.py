"""The VAE round-trip floor and boundary-aware quantisation, on a 7-class
land-cover legend whose red/green blend lies nearest to shrubland."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dldm_mmseg.evaluation.mask_round_trip import (mask_round_trip,
                                                   mask_round_trips,
                                                   round_trip_text,
                                                   shifted_classes)
from dldm_mmseg.utils.palette import (nearest_palette_index_torch,
                                      neighbourhood_palette_index_torch,
                                      palette_quantiser)

LEGEND = [[255, 0, 0], [0, 120, 0], [150, 110, 60], [0, 0, 255],
          [255, 255, 0], [200, 200, 200], [0, 255, 255]]
CLASSES = ['developed', 'forest', 'shrubland', 'water', 'crops', 'barren',
           'wetland']


class FakeVAE(torch.nn.Module):
    """Latents are the pixels; decoding blurs them with a k x k box (a
    decoder's blend at class borders), k = 1 gives them back unchanged."""

    def __init__(self, k: int, channels: int = 3):
        super().__init__()
        self.k = k
        self.config = SimpleNamespace(in_channels=channels)
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def encode(self, x):
        return SimpleNamespace(latent_dist=SimpleNamespace(mean=x))

    def decode(self, z):
        if self.k > 1:
            z = F.avg_pool2d(F.pad(z, [self.k // 2] * 4, mode='replicate'),
                             self.k, stride=1)
        return SimpleNamespace(sample=z)


def half_and_half(n=4, size=16):
    """Developed on the left, forest on the right, a shrubland square, an
    ignore pixel."""
    labels = []
    for i in range(n):
        label = np.zeros((size, size), np.int64)
        label[:, size // 2 + i - 2:] = 1
        label[-4:, :4] = 2
        label[0, 0] = 255
        labels.append(label)
    return labels


def test_an_exact_round_trip_is_zero_and_a_blurring_one_adds_a_third_class():
    labels = half_and_half()
    exact = mask_round_trip(FakeVAE(1), labels, LEGEND, CLASSES)
    assert exact['mCPE'] == 0 and exact['pixel_accuracy'] == 100
    assert exact['masks'] == 4
    blurred = mask_round_trip(FakeVAE(3), labels, LEGEND, CLASSES)
    # the 3 px blend column between red and green snaps to shrubland
    assert blurred['share_shift.shrubland'] > 3
    assert blurred['share_shift.forest'] < 0
    assert blurred['mCPE'] > 0.5
    assert blurred['CPE.water'] == 0
    assert any(c.startswith('shrubland +') for c in shifted_classes(blurred))
    assert 'shrubland +' in round_trip_text(blurred, 'val')
    assert 'no class share moved' in round_trip_text(exact, 'val')
    # only the two bordering classes may take the blend
    aware = mask_round_trip(FakeVAE(3), labels, LEGEND, CLASSES,
                            palette_quantiser(LEGEND,
                                              dict(type='neighbourhood')))
    assert abs(aware['share_shift.shrubland']) < 0.5
    assert aware['mCPE'] < blurred['mCPE'] / 4


def test_neighbourhood_quantisation_keeps_a_region_drawn_in_the_third_class():
    rgb = np.zeros((1, 12, 12, 3), np.uint8)
    rgb[0, :, :6], rgb[0, :, 6:] = LEGEND[0], LEGEND[1]
    rgb[0, :, 5:7] = [128, 60, 0]  # the blend, nearest to shrubland
    rgb[0, 8:, :3] = LEGEND[2]  # shrubland really drawn
    rgb[0, 0, 11] = [0, 0, 0]  # the reserved ignore colour
    t = torch.as_tensor(rgb)
    plain = nearest_palette_index_torch(t, LEGEND)[0].numpy()
    aware = neighbourhood_palette_index_torch(t, LEGEND)[0].numpy()
    assert (plain[:8, 5:7] == 2).all()
    assert set(np.unique(aware[:8, 5:7])) <= {0, 1}
    assert (aware[8:, :3] == 2).all()
    assert aware[0, 11] == 255
    # window 1: every pixel alone, so only confident pixels keep a class
    # and the blend (confident nowhere) falls back to its nearest colour
    alone = neighbourhood_palette_index_torch(t, LEGEND, window=1)
    assert torch.equal(alone, torch.as_tensor(plain)[None])


@pytest.mark.parametrize('quantisation,message', [
    (dict(type='mode'), 'quantisation type must be one of'),
    (dict(type='nearest', window=3), 'nearest quantisation takes no'),
    (dict(type='neighbourhood', size=3), 'takes window and confident'),
    (dict(type='neighbourhood', window=4), 'window must be an odd number'),
    (dict(type='neighbourhood', confident=0.9), r'confident must be in'),
])
def test_bad_quantisation_settings_are_errors(quantisation, message):
    with pytest.raises(ValueError, match=message):
        palette_quantiser(LEGEND, quantisation)


def test_one_hot_masks_cannot_turn_a_border_into_a_third_class():
    from dldm_mmseg.utils.mask_encoding import (encoding_of, onehot_index,
                                                onehot_pixels)
    labels = half_and_half()
    onehot = FakeVAE(3, channels=len(CLASSES) + 1)
    assert encoding_of(onehot, len(CLASSES)) == 'onehot'
    blurred = mask_round_trip(onehot, labels, LEGEND, CLASSES)
    assert abs(blurred['share_shift.shrubland']) < 0.5
    rgb = mask_round_trip(FakeVAE(3), labels, LEGEND, CLASSES)
    assert blurred['mCPE'] < rgb['mCPE'] / 4
    exact = mask_round_trip(FakeVAE(1, channels=8), labels, LEGEND, CLASSES)
    assert exact['mCPE'] == 0 and exact['pixel_accuracy'] == 100
    # the encoding itself: ignore in the last channel, {-1, 1} values
    t = torch.as_tensor(np.stack(labels))
    pixels = onehot_pixels(t, len(CLASSES))
    assert pixels.shape == (4, 8, 16, 16)
    assert set(pixels.unique().tolist()) == {-1.0, 1.0}
    assert pixels[0, 7, 0, 0] == 1 and pixels[0, 0, 0, 0] == -1
    assert torch.equal(onehot_index(pixels, len(CLASSES)).long(), t)
    with pytest.raises(ValueError, match='neither RGB masks'):
        encoding_of(FakeVAE(1, channels=5), len(CLASSES))
    with pytest.raises(ValueError, match='labels outside 0..6'):
        onehot_pixels(torch.tensor([[[9]]]), len(CLASSES))


@pytest.mark.parametrize('num_classes', range(3, 31))
def test_a_blend_of_two_one_hot_codes_quantises_to_one_of_the_two(
        num_classes):
    # what no RGB palette of more than 7 classes can promise: every even
    # or uneven blend of two classes' codes (ignore included) decodes to
    # one of them, for every pair
    from dldm_mmseg.utils.mask_encoding import onehot_index, onehot_pixels
    ids = torch.tensor(list(range(num_classes)) + [255])
    a, b = torch.meshgrid(ids, ids, indexing='ij')
    pairs = (a != b).flatten()
    a, b = a.flatten()[pairs], b.flatten()[pairs]
    code_a, code_b = (onehot_pixels(x.view(-1, 1, 1), num_classes)
                      for x in (a, b))
    for t in (0.5, 0.3, 0.7, 0.01):
        blend = onehot_index(t * code_a + (1 - t) * code_b, num_classes)
        snapped = blend.view(-1).long()
        assert ((snapped == a) | (snapped == b)).all()
        # ties go to one side, an uneven blend to its larger part
        if t != 0.5:
            assert torch.equal(snapped, a if t > 0.5 else b)


def test_several_quantisers_share_one_decoding():
    labels = half_and_half()
    vae = FakeVAE(3)
    calls = []
    decode = vae.decode
    vae.decode = lambda z: calls.append(len(z)) or decode(z)
    both = mask_round_trips(vae, labels, LEGEND, CLASSES, dict(
        nearest=None,
        neighbourhood=palette_quantiser(LEGEND, dict(type='neighbourhood'))))
    assert calls == [4]  # one batch, decoded once for both
    assert both['nearest'] == mask_round_trip(FakeVAE(3), labels, LEGEND,
                                              CLASSES)
    assert both['neighbourhood'] == mask_round_trip(
        FakeVAE(3), labels, LEGEND, CLASSES,
        palette_quantiser(LEGEND, dict(type='neighbourhood')))


def test_bench_refuses_onehot_masks_of_two_classes(tmp_path, capsys):
    from fixtures import load_tool
    bench = load_tool('mask_round_trip', folder='bench')
    (tmp_path / 'captions.jsonl').write_text('')
    with pytest.raises(SystemExit):  # before any VAE is fitted
        bench.main(['--dataset', 'spacenet_atlanta', '--data-root',
                    str(tmp_path), '--encodings', 'onehot'])
    assert 'keep RGB masks for 2 classes' in capsys.readouterr().err


@pytest.mark.parametrize('palette', ['potsdam', 'legend7'])
def test_bench_fits_and_round_trips_the_toy_masks_in_either_palette(
        tmp_path, palette, capsys):
    from fixtures import load_tool
    bench = load_tool('mask_round_trip', folder='bench')
    out = tmp_path / 'bench.json'
    bench.main(['--palette', palette, '--seeds', '0', '--iters', '2',
                '--train', '8', '--encodings', 'rgb', '--out', str(out)])
    saved = json.loads(out.read_text())
    nearest, = saved['results']['RGB, nearest colour']
    assert nearest['masks'] == 48  # the val masks
    classes = {'potsdam': 'low_vegetation', 'legend7': 'shrubland'}[palette]
    assert f'CPE.{classes}' in nearest
    assert f'| RGB, nearest colour | {nearest["mCPE"]:.2f}' in \
        capsys.readouterr().out
