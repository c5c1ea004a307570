import numpy as np
import pytest

from dldm_mmseg.utils.prompts import (check_share_prompt,
                                      format_class_shares, parse_class_shares,
                                      round_percents, share_part)
from fixtures import POTSDAM_CLASSES as CLASSES


def test_round_percents_sum_to_100_largest_remainder():
    # exact 33.33 each: remainders tie, earlier classes get the extra point
    assert round_percents([1, 1, 1]).tolist() == [34, 33, 33]
    # 12.5/37.5/50 -> floors 12/37/50, two remainders of .5: first wins
    assert round_percents([0.125, 0.375, 0.5]).tolist() == [13, 37, 50]
    assert round_percents([0.996, 0.004]).tolist() == [100, 0]


def test_format_known_text():
    shares = [0.30, 0.25, 0.0, 0.40, 0.05, 0.0]
    assert format_class_shares(shares, CLASSES) == (
        'impervious surface: 30%, building: 25%, tree: 40%, car: 5%')
    assert format_class_shares(dict(car=1.0), CLASSES) == 'car: 100%'


@pytest.mark.parametrize('seed', range(5))
def test_round_trip(seed):
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.ones(len(CLASSES)) * 0.5)
    text = format_class_shares(shares, CLASSES)
    parsed = parse_class_shares(text, CLASSES)
    assert np.abs(parsed - shares).max() <= 0.01  # whole percents
    assert format_class_shares(parsed, CLASSES) == text
    assert parsed.sum() == pytest.approx(1.0)


def test_parse_partial_prompt_and_names():
    parsed = parse_class_shares('building: 30%, low_vegetation: 5%', CLASSES,
                                require_total=False)
    assert parsed.tolist() == [0, 0.30, 0.05, 0, 0, 0]


@pytest.mark.parametrize('text, message', [
    ('building 30%', 'cannot parse'),
    ('roof: 100%', 'unknown class'),
    ('car: 50%, car: 50%', 'twice'),
    ('car: 50%, tree: 20%', 'sum to 70%'),
    ('', 'empty'),
])
def test_parse_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_class_shares(text, CLASSES)


def test_share_part_is_read_and_a_captions_own_numbers_are_not():
    classes = ('impervious_surface', 'building', 'tree')
    caption = 'An aerial image, about 40% trees'
    shares = 'building: 30%, tree: 70%'
    for prompt, part in ((f'{shares}. {caption}', shares),
                         (f'{caption}. {shares}.', shares),
                         (caption, None),
                         ('roofs: 40% of it. tree: 5%', 'tree: 5%')):
        assert share_part(prompt) == part
        check_share_prompt(prompt, classes)  # a caption never fails a run
    # the share part itself is still checked
    with pytest.raises(ValueError, match="unknown class 'carr'"):
        check_share_prompt(f'building: 30%, carr: 5%. {caption}', classes)
    with pytest.raises(ValueError, match="cannot parse 'lots'"):
        check_share_prompt('building: 30%, lots', classes)
    with pytest.raises(ValueError, match='sum to 130%'):
        check_share_prompt('building: 60%, tree: 70%', classes)
