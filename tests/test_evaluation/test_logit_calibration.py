"""Per-class logit biases: the exact val fit, the prior shift, counts."""
import itertools

import numpy as np
import pytest
import torch
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

from mmengine.config import Config

from dldm_mmseg.evaluation.logit_calibration import (
    _best_coordinate, fit_logit_bias, miou, per_class_iou, prior_shift_bias,
    stream_class_counts, stream_prior)
from fixtures import make_synth_set


def shifted_scores(num_classes, n=4000, seed=0, offset=1.2):
    """Logits that favour class 0 by ``offset`` beyond what the labels
    warrant, so the best biases are far from zero."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(num_classes, n, p=np.arange(1, num_classes + 1) /
                        sum(range(1, num_classes + 1)))
    logits = rng.normal(size=(n, num_classes))
    logits[np.arange(n), labels] += 1.5
    logits[:, 0] += offset
    return logits, labels


def test_per_class_iou_by_hand():
    logits = np.array([[2., 0.], [2., 0.], [0., 1.], [0., 1.]])
    labels = np.array([0, 1, 1, 1])
    # predictions 0 0 1 1: class 0 tp 1 union 2, class 1 tp 2 union 3
    np.testing.assert_allclose(per_class_iou(logits, labels), [1 / 2, 2 / 3])
    assert miou(logits, labels) == pytest.approx((1 / 2 + 2 / 3) / 2 * 100)
    # a bias of -2.5 on class 0 flips the first two pixels to class 1
    np.testing.assert_allclose(per_class_iou(logits, labels, [-2.5, 0]),
                               [0, 3 / 4])
    # a class neither labelled nor predicted has no IoU (NaN, skipped)
    three = np.concatenate([logits, np.full((4, 1), -9.)], axis=1)
    assert np.isnan(per_class_iou(three, labels)[2])
    assert miou(three, labels) == pytest.approx(miou(logits, labels))


def every_cut(values):
    """A bias below, between and above the distinct ``values``."""
    values = np.unique(values)
    return np.concatenate([[values[0] - 1], (values[1:] + values[:-1]) / 2,
                           [values[-1] + 1]])


def test_two_class_fit_is_the_best_threshold():
    logits, labels = shifted_scores(2, n=1500)
    fit = fit_logit_bias(logits, labels)
    # every decision a threshold can make: one between each two margins
    scores = [miou(logits, labels, [0, c])
              for c in every_cut(logits[:, 0] - logits[:, 1])]
    assert fit['miou_after'] == pytest.approx(max(scores), abs=1e-9)
    assert fit['miou_after'] > fit['miou_before'] + 5
    assert sum(fit['bias']) == pytest.approx(0)
    assert fit['bias'][1] - fit['bias'][0] > 0.5  # undoes the offset


@pytest.mark.parametrize('seed', range(6))
def test_one_coordinate_scores_what_its_value_decides(seed):
    # integer logits: many pixels share a margin, so the cumulative counts
    # and the distinct-margin mask are both exercised
    rng = np.random.default_rng(seed)
    num = 2 + seed % 3
    labels = rng.integers(0, num, 300)
    logits = rng.integers(-3, 4, (300, num)).astype(float)
    logits[np.arange(300), labels] += rng.integers(0, 3, 300)
    bias = rng.integers(-2, 3, num).astype(float)
    c = seed % num
    value, score = _best_coordinate(logits, labels, bias, c)
    chosen = bias.copy()
    chosen[c] = value
    assert score == pytest.approx(miou(logits, labels, chosen), abs=1e-9)
    others = bias.copy()
    others[c] = -np.inf
    margins = (logits + others).max(1) - logits[:, c]
    for cut in every_cut(margins):
        chosen[c] = cut
        assert miou(logits, labels, chosen) <= score + 1e-9


def test_three_class_fit_beats_a_grid():
    logits, labels = shifted_scores(3, n=3000, seed=1)
    fit = fit_logit_bias(logits, labels)
    grid = np.linspace(-3, 3, 31)
    best = max(miou(logits, labels, [0, a, b])
               for a, b in itertools.product(grid, grid))
    assert fit['miou_after'] >= best - 1e-9
    assert fit['miou_after'] == pytest.approx(
        miou(logits, labels, fit['bias']))


def test_fit_keeps_zero_when_nothing_helps():
    labels = np.array([0, 0, 1, 1])
    logits = np.array([[1., 0.], [1., 0.], [0., 1.], [0., 1.]])
    fit = fit_logit_bias(logits, labels)
    assert fit['miou_before'] == fit['miou_after'] == 100
    assert fit['rounds'] == 1


def test_fit_refusals():
    with pytest.raises(ValueError, match='at least 2 classes'):
        fit_logit_bias(np.zeros((3, 1)), np.zeros(3, int))
    with pytest.raises(ValueError, match='one label per pixel'):
        fit_logit_bias(np.zeros((3, 2)), np.zeros(2, int))
    with pytest.raises(ValueError, match=r'\[255\].*drop ignored pixels'):
        fit_logit_bias(np.zeros((2, 2)), np.array([0, 255]))
    with pytest.raises(ValueError, match='no labelled pixel'):
        fit_logit_bias(np.zeros((0, 2)), np.zeros(0, int))
    with pytest.raises(ValueError, match='1 logits are not finite'):
        fit_logit_bias(np.array([[0., np.nan], [1., 0.]]), np.array([0, 1]))


def test_prior_shift_bias():
    bias = prior_shift_bias([600, 400], [900, 100])
    # log(0.9 / 0.6) - log(0.1 / 0.4), centred
    gap = np.log(0.9 / 0.6) - np.log(0.1 / 0.4)
    assert bias == pytest.approx([gap / 2, -gap / 2])
    assert prior_shift_bias([5, 5, 10], [1, 1, 2]) == pytest.approx([0] * 3)
    with pytest.raises(ValueError, match=r"\['car'\].*only one.*infinite"):
        prior_shift_bias([5, 0], [3, 3], classes=['road', 'car'])
    # a class in neither shifts nothing
    raw = np.array([np.log(0.9 / 0.6), np.log(0.1 / 0.4), 0])
    assert prior_shift_bias([600, 400, 0], [900, 100, 0]) == pytest.approx(
        raw - raw.mean())
    with pytest.raises(ValueError, match=r'shape \(2,\).*shape \(3,\)'):
        prior_shift_bias([5, 5], [3, 3, 3])


def sample(label):
    out = SegDataSample(metainfo=dict(seg_map_path='tile_7.png'))
    out.gt_sem_seg = PixelData(data=torch.as_tensor(label)[None])
    return out


def test_stream_class_counts():
    def forever():
        while True:
            yield dict(data_samples=[sample([[0, 1], [255, 1]]),
                                     sample([[2, 2], [2, 255]])])

    counts = stream_class_counts(forever(), 3, max_batches=3)
    assert counts.tolist() == [3, 6, 9]
    with pytest.raises(ValueError, match=r'values \[4\] in tile_7.png are '
                       'outside the 3 classes'):
        stream_class_counts([dict(data_samples=[sample([[0, 4], [1, 1]])])],
                            3)
    with pytest.raises(ValueError, match='no batch.*max_batches 0'):
        stream_class_counts(forever(), 3, max_batches=0)


def test_stream_prior_of_a_synthetic_only_stream(tmp_path):
    root = str(tmp_path / 'syn')
    make_synth_set(root, num=4)
    cfg = Config(dict(
        model=dict(decode_head=dict(num_classes=6)),
        train_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='DiffusionSynthDataset', data_root=root,
                         source_dataset='PotsdamDataset',
                         pipeline=[dict(type='LoadImageFromFile'),
                                   dict(type='LoadAnnotations',
                                        reduce_zero_label=True),
                                   dict(type='PackSegInputs')]))))
    # no real sample to count the real shares on: say what to pass
    with pytest.raises(ValueError, match=r'no real sample.*pass the real '
                       r"samples' class counts \(real_counts\)"):
        stream_prior(cfg, stream_batches=2)
    real = [10, 20, 30, 40, 50, 60]
    prior = stream_prior(cfg, stream_batches=2, real_counts=real)
    assert prior['real_counts'] == real
    assert sum(prior['stream_counts']) > 0
    assert prior['bias'] == pytest.approx(
        prior_shift_bias(prior['stream_counts'], real))
