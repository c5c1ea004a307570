"""Per-class logit biases: the exact val fit, the prior shift, counts."""
import itertools

import numpy as np
import pytest
import torch
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

from dldm_mmseg.evaluation.logit_calibration import (
    fit_logit_bias, miou, per_class_iou, prior_shift_bias,
    stream_class_counts)


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


def test_two_class_fit_is_the_best_threshold():
    logits, labels = shifted_scores(2)
    fit = fit_logit_bias(logits, labels)
    # every distinct decision: a threshold between sorted margins
    margin = np.sort(logits[:, 0] - logits[:, 1])
    cuts = np.concatenate([[margin[0] - 1], (margin[1:] + margin[:-1]) / 2,
                           [margin[-1] + 1]])
    best = max(miou(logits, labels, [0, c]) for c in cuts[::7])
    assert fit['miou_after'] >= best - 1e-9
    assert fit['miou_after'] > fit['miou_before'] + 5
    assert fit['miou_after'] == pytest.approx(
        miou(logits, labels, fit['bias']))
    assert sum(fit['bias']) == pytest.approx(0)
    assert fit['bias'][1] - fit['bias'][0] > 0.5  # undoes the offset


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
    with pytest.raises(ValueError, match='one per class'):
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
    with pytest.raises(ValueError, match=r'\[0, 1, 4\] in tile_7.png'):
        stream_class_counts([dict(data_samples=[sample([[0, 4], [1, 1]])])],
                            3)
    with pytest.raises(ValueError, match='no batch'):
        stream_class_counts([], 3)
