"""The class-relative loss rule of the consistency filter (FreeMask): a
pixel is ignored where the reference's loss of its class is high *for that
class*, so a class the reference finds hard everywhere keeps its pixels."""
import numpy as np
import pytest
from PIL import Image

from dldm_mmseg.evaluation.consistency import ConsistencyChecker


def probs_for(labels, p_true):
    """2-class probabilities giving each pixel's label the probability
    ``p_true[label]`` (as an image's first pixel tells the fake model)."""
    labels = np.asarray(labels)
    p = np.where(labels == 0, p_true[0], p_true[1])
    return np.stack([np.where(labels == 0, p, 1 - p),
                     np.where(labels == 1, p, 1 - p)])


@pytest.fixture
def checker(tmp_path, monkeypatch):
    root = tmp_path / 'real'
    label = np.array([[0, 0], [1, 1]], np.uint8)
    for sub, array in (('img_dir', np.zeros((2, 2, 3), np.uint8)),
                       ('ann_dir', label)):
        (root / sub / 'train').mkdir(parents=True)
        Image.fromarray(array).save(root / sub / 'train' / 'a.png')
    made = ConsistencyChecker(None, model=object(), rule='class_loss',
                              real_root=str(root), reduce_zero_label=False)
    # on the real pixels: class 0 easy (p 0.9), class 1 hard (p 0.3);
    # a synthetic image (first pixel 1) gets p 0.5 for class 0 and 0.2 for
    # class 1, and is 0.9 confident of the other class where it errs
    table = {0: (0.9, 0.3), 1: (0.5, 0.2)}

    def probabilities(images):
        return np.stack([probs_for(layouts[int(i[0, 0, 0])],
                                   table[int(i[0, 0, 0])]) for i in images])

    layouts = {0: label, 1: np.array([[0, 0, 1, 1]] * 2)}
    monkeypatch.setattr(made, 'probabilities', probabilities)
    return made


def test_class_loss_rule_ignores_pixels_hard_for_their_own_class(checker):
    assert checker.class_loss == pytest.approx([-np.log(0.9), -np.log(0.3)])
    image = np.ones((2, 4, 3), np.uint8)
    mask = np.array([[0, 0, 1, 1]] * 2)
    result, = checker([image], [mask])
    # class 0: loss 0.69 > 2 x 0.105 -> ignored; class 1: 1.61 < 2 x 1.20
    assert result['mask'].tolist() == [[255, 255, 1, 1]] * 2
    assert result['disagreeing_pixels'] == [4, 0]
    assert result['disagreement'] == 0.5
    # a lax multiple ignores nothing; the confidence rule ignores neither
    # class (the reference is never 0.9 sure of another class here)
    checker.loss_multiple = 10.0
    assert checker([image], [mask])[0]['mask'].tolist() == mask.tolist()
    checker.rule, checker.loss_multiple = 'confidence', 2.0
    assert checker([image], [mask])[0]['disagreeing_pixels'] == [0, 0]


def test_class_loss_rule_needs_the_real_set():
    with pytest.raises(ValueError, match='needs real_root'):
        ConsistencyChecker(None, model=object(), rule='class_loss')
    with pytest.raises(ValueError, match='rule must be one of'):
        ConsistencyChecker(None, model=object(), rule='loss')
    with pytest.raises(ValueError, match='loss_multiple must be > 0'):
        ConsistencyChecker(None, model=object(), rule='class_loss',
                           real_root='x', loss_multiple=0)
    lazy = ConsistencyChecker(None, model=object(), rule='class_loss',
                              real_root='/no/such/set')
    with pytest.raises(FileNotFoundError, match='no images in /no/such/set'):
        lazy.class_loss
