"""share_excess: the class a set draws more of than its prompts ask."""
import numpy as np
import pytest

from dldm_mmseg.experiments.analysis import share_excess


def test_a_class_drawn_in_excess_across_the_set_is_flagged():
    classes = ['developed', 'forest', 'shrubland']
    target = np.array([[0.5, 0.5, 0.0], [0.4, 0.5, 0.1]])
    # the border blend became shrubland: +6 points on average, taken
    # from forest (-4) and developed (-2)
    measured = np.array([[0.47, 0.46, 0.07], [0.39, 0.46, 0.15]])
    result = share_excess(measured, target, classes)
    assert result['share_excess'] == pytest.approx(
        dict(developed=-2.0, forest=-4.0, shrubland=6.0))
    assert result['flagged'] == ['shrubland']
    assert share_excess(measured, target, classes, threshold=6.5)[
        'flagged'] == []
    assert share_excess(target, target, classes)['share_excess'] == \
        pytest.approx(dict(developed=0.0, forest=0.0, shrubland=0.0))
