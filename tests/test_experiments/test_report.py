"""Report helpers: mean and std over seeds, tables with spread."""
import math
import os.path as osp

import pytest

from dldm_mmseg.experiments.report import (mean_and_std, metrics_table,
                                           weakest_classes)


def test_mean_and_std_over_seeds_skip_nan():
    runs = [{'a': {'mIoU': 10.0, 'IoU.car': float('nan')}},
            {'a': {'mIoU': 20.0, 'IoU.car': 4.0}},
            {'a': {'mIoU': 30.0, 'IoU.car': 6.0}}]
    mean, std = mean_and_std(runs)
    assert mean['a']['mIoU'] == pytest.approx(20.0)
    assert std['a']['mIoU'] == pytest.approx(10.0)  # sample std
    assert mean['a']['IoU.car'] == pytest.approx(5.0)
    single_mean, single_std = mean_and_std(runs[:1])
    assert single_std['a']['mIoU'] == 0.0
    assert math.isnan(single_mean['a']['IoU.car'])
    table = metrics_table(mean, ['car'], std)
    assert '| a | 5.00 ± 1.41 |' in table and '20.00 ± 10.00' in table


def test_precision_and_recall_columns_of_the_classes_asked_for():
    results = {'alpha = 0': {'IoU.road': 48.8, 'IoU.background': 97.1,
                             'Precision.road': 80.5, 'Recall.road': 55.5,
                             'mIoU': 73.0, 'mFscore': 82.0, 'mCPE': 2.0}}
    table = metrics_table(results, ['background', 'road'],
                          precision_recall=['road'])
    header, _, row = table.split('\n')
    assert header == ('| run | IoU background | IoU road | precision road | '
                      'recall road | mIoU | mF1 | mCPE |')
    assert row == ('| alpha = 0 | 97.10 | 48.80 | 80.50 | 55.50 | 73.00 | '
                   '82.00 | 2.00 |')
    assert 'precision' not in metrics_table(results, ['road'])


def test_weakest_classes_rank_by_iou_and_skip_missing():
    metrics = {'IoU.road': 80.0, 'IoU.car': 12.0, 'IoU.boat': float('nan'),
               'IoU.tree': 40.0}
    names = ['road', 'car', 'boat', 'tree', 'lake']
    assert weakest_classes(metrics, names) == ['car', 'tree']
    assert weakest_classes(metrics, names, num=5) == ['car', 'tree', 'road']


@pytest.mark.parametrize('num', [2, 6, 9, 30])
def test_class_ticks_stay_readable_from_2_to_30_classes(num):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from dldm_mmseg.experiments.report import class_figure_width, class_ticks
    names = [f'land_cover_{k}' for k in range(num)]
    fig, ax = plt.subplots()
    class_ticks(ax, names)
    labels = ax.get_xticklabels()
    assert [t.get_text().replace('\n', '_') for t in labels] == names
    # a few: wrapped, upright; many: whole names, rotated
    rotation = {t.get_rotation() for t in labels}
    assert rotation == ({0.0} if num <= 8 else {60.0})
    plt.close(fig)
    assert 6 <= class_figure_width(num, 0.5) <= 22


def test_metric_vs_alpha_draws_the_seed_spread_as_a_band(
        tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib.axes import Axes
    from dldm_mmseg.experiments.report import plot_metric_vs_alpha
    bands = []
    original = Axes.fill_between

    def record(self, x, y1, y2, **kwargs):
        bands.append((list(x), list(y1), list(y2)))
        return original(self, x, y1, y2, **kwargs)

    monkeypatch.setattr(Axes, 'fill_between', record)
    results = {a: {'mIoU': 50.0 + 10 * a, 'mFscore': 60.0, 'IoU.car': 20.0}
               for a in (0, 0.4, 1.0)}
    std = {a: {'mIoU': 8.0, 'mFscore': 1.0, 'IoU.car': 2.0 + a}
           for a in results}
    plot_metric_vs_alpha(results, ['car'], str(tmp_path / 'lines'))
    assert bands == []  # no spread, no band
    path = plot_metric_vs_alpha(results, ['car'], str(tmp_path / 'bands'),
                                std=std)
    assert osp.getsize(path) > 1000
    # one band per series (mIoU, mF1, IoU car): mean - std to mean + std
    assert len(bands) == 3
    x, low, high = bands[0]
    assert x == [0, 40, 100]
    assert low == pytest.approx([42, 46, 52]) and \
        high == pytest.approx([58, 62, 68])
    _, low, high = bands[2]
    assert low == pytest.approx([18, 17.6, 17]) and \
        high == pytest.approx([22, 22.4, 23])
