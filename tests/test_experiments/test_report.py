"""Report helpers: mean and std over seeds, tables with spread."""
import math

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


def test_metric_vs_alpha_draws_the_seed_spread_as_a_band(tmp_path):
    import numpy as np
    from PIL import Image
    from dldm_mmseg.experiments.report import plot_metric_vs_alpha
    results = {a: {'mIoU': 50.0 + 10 * a, 'mFscore': 60.0, 'IoU.car': 20.0}
               for a in (0, 0.4, 1.0)}
    std = {a: {'mIoU': 8.0, 'mFscore': 0.0, 'IoU.car': 0.0}
           for a in results}
    images = {}
    for name, spread in (('lines', None), ('bands', std)):
        path = plot_metric_vs_alpha(results, ['car'], str(tmp_path / name),
                                    std=spread)
        images[name] = np.asarray(Image.open(path).convert('RGB'), int)

    # the mIoU band is a pale shade of the mIoU line's colour (C0 blue),
    # so the figure with bands has many more light-blue pixels
    def pale_blue(img):
        r, g, b = img[..., 0], img[..., 1], img[..., 2]
        return int(((b > 200) & (r < 225) & (r > 150) & (b - r > 20)).sum())
    assert pale_blue(images['bands']) > 20 * max(1, pale_blue(images['lines']))
