import numpy as np
import pytest
import torch

from mmseg.registry import METRICS


def sample(pred, gt=None, **meta):
    out = dict(pred_sem_seg=dict(data=torch.tensor(pred)[None]), **meta)
    if gt is not None:
        out['gt_sem_seg'] = dict(data=torch.tensor(gt)[None])
    return out


def test_mcpe_against_hand_computation():
    metric = METRICS.build(dict(type='ClassProportionMetric'))
    metric.dataset_meta = dict(classes=('a', 'b'))
    # sample 1: pred shares (.75,.25) vs gt (.5,.5) -> errors 25, 25
    # sample 2: the ignored pixel is left out of the prediction too:
    #   valid preds (1,1,1) -> (0, 1) vs gt (0, 1) -> errors 0, 0
    metric.process({}, [
        sample([[0, 0], [0, 1]], [[0, 1], [0, 1]]),
        sample([[0, 1], [1, 1]], [[255, 1], [1, 1]]),
    ])
    # sample 3: explicit target shares (.9, .1) vs pred (.5, .5) -> 40, 40
    metric.process({}, [sample([[0, 1], [0, 1]], target_shares=[.9, .1])])
    result = metric.compute_metrics(metric.results)
    assert result['mCPE'] == pytest.approx((25 + 25 + 0 + 0 + 40 + 40) / 6,
                                           abs=1e-3)
    assert result['CPE.a'] == pytest.approx((25 + 0 + 40) / 3, abs=1e-3)


def test_missing_ground_truth_is_named():
    metric = METRICS.build(dict(type='ClassProportionMetric'))
    metric.dataset_meta = dict(classes=('a', 'b'))
    with pytest.raises(KeyError, match='x.png'):
        metric.process({}, [sample([[0]], img_path='x.png')])


def test_per_class_iou_metric_matches_hand_computation():
    metric = METRICS.build(dict(type='PerClassIoUMetric',
                                iou_metrics=['mIoU', 'mFscore']))
    metric.dataset_meta = dict(classes=('a', 'b'))
    # pred (0,0,0,1) vs gt (0,1,0,1): a: I=2 U=3; b: I=1 U=2
    metric.process({}, [sample([[0, 0], [0, 1]], [[0, 1], [0, 1]])])
    result = metric.compute_metrics(metric.results)
    assert result['IoU.a'] == pytest.approx(66.67)
    assert result['IoU.b'] == pytest.approx(50.0)
    assert result['mIoU'] == pytest.approx(58.34, abs=0.01)
    # F1 of b: precision 1, recall .5 -> 66.67
    assert result['Fscore.b'] == pytest.approx(66.67)


def test_per_class_iou_metric_reports_miou_without_optional_classes():
    from dldm_mmseg.experiments.report import metrics_table
    metric = METRICS.build(dict(type='PerClassIoUMetric',
                                iou_metrics=['mIoU', 'mFscore'],
                                optional_classes=['c', 'not_here']))
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    # a: I=2 U=3, b: I=1 U=2, c: I=2 U=2
    metric.process({}, [sample([[0, 0, 0], [1, 2, 2]],
                               [[0, 1, 0], [1, 2, 2]])])
    result = metric.compute_metrics(metric.results)
    assert result['IoU.c'] == pytest.approx(100.0)
    assert result['mIoU_without_c'] == pytest.approx(
        (result['IoU.a'] + result['IoU.b']) / 2, abs=0.01)
    assert result['mIoU_without_c'] != pytest.approx(result['mIoU'])
    table = metrics_table({'run': result}, ['a', 'b', 'c'])
    header, _, row = table.splitlines()
    assert 'mIoU w/o c' in header
    cells = [c.strip() for c in row.split('|')[1:-1]]
    names = [c.strip() for c in header.split('|')[1:-1]]
    assert (cells[names.index('mIoU w/o c')]
            == f'{result["mIoU_without_c"]:.2f}')
