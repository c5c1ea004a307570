"""The class-relative loss rule of the consistency filter (FreeMask): a
pixel is ignored where the reference's loss of its class is high *for that
class*, so a class the reference finds hard everywhere keeps its pixels."""
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from dldm_mmseg.evaluation.consistency import (ConsistencyChecker,
                                               class_covering_pairs)


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


def test_filter_classes_keeps_the_other_classes_pixels(checker):
    checker.model = SimpleNamespace(dataset_meta=dict(
        classes=('background', 'building')))
    image = np.ones((2, 4, 3), np.uint8)
    mask = np.array([[0, 0, 1, 1]] * 2)
    # at half the mean loss both classes' pixels disagree
    checker.loss_multiple = 0.5
    assert checker([image], [mask])[0]['disagreeing_pixels'] == [4, 4]
    checker.filtered = checker._class_ids(['building'], 'ref.py')
    result, = checker([image], [mask])
    assert result['mask'].tolist() == [[0, 0, 255, 255]] * 2
    assert result['disagreeing_pixels'] == [0, 4]
    assert result['disagreement'] == 0.5
    # under the confidence rule too: the reference is 0.8 sure of
    # background on the building pixels, which a 0.7 minimum ignores
    checker.rule, checker.min_confidence = 'confidence', 0.7
    assert checker([image], [mask])[0]['disagreeing_pixels'] == [0, 4]
    checker.filtered = checker._class_ids(['background'], 'ref.py')
    assert checker([image], [mask])[0]['disagreeing_pixels'] == [0, 0]


def test_filter_classes_are_named_classes_of_the_reference():
    model = SimpleNamespace(dataset_meta=dict(
        classes=('background', 'building')))
    made = ConsistencyChecker(None, model=model,
                              filter_classes=['building', 'building'])
    assert made.filtered.tolist() == [1]
    for names, match in ((['roof'], r"\['roof'\] are not classes of the "
                          r"reference segmentor ref.py \(\['background', "
                          r"'building'\]\)"),
                         ([], 'must be a non-empty list'),
                         ('building', 'must be a non-empty list')):
        with pytest.raises(ValueError, match=match):
            ConsistencyChecker('ref.py', model=model, filter_classes=names)
    # a reference without class names names none
    with pytest.raises(ValueError, match=r'ref.py \(\[\]\)'):
        ConsistencyChecker('ref.py', model=object(),
                           filter_classes=['building'])


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


# a tiled scene whose rare classes live in the last tiles by name
SCENE = {'a': [[0, 0], [0, 0]], 'b': [[0, 0], [0, 0]],
         'c': [[0, 0], [1, 1]], 'd': [[1, 1], [1, 2]]}


def write_scene(root, split='train', scene=SCENE):
    for index, (name, label) in enumerate(scene.items()):
        for sub, array in (('img_dir', np.full((2, 2, 3), index, np.uint8)),
                           ('ann_dir', np.array(label, np.uint8))):
            (root / sub / split).mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(root / sub / split / f'{name}.png')
    return str(root)


def test_class_covering_pairs_hold_every_class(tmp_path):
    root = write_scene(tmp_path)

    def names(max_num, min_pixels):
        return [osp.basename(image)[0] for image, _ in class_covering_pairs(
            root, 'train', False, max_num, min_pixels)]

    # every class first (d holds classes 2 and 1, a class 0); then class
    # 1 needs c beside d's 3 pixels; then evenly spread
    assert names(2, 4) == ['a', 'd']
    assert names(3, 4) == ['a', 'c', 'd']
    assert names(4, 4) == ['a', 'b', 'c', 'd']
    # one pixel each: d holds classes 1 and 2, a class 0; the pair left
    # is the first of the rest
    assert names(3, 1) == ['a', 'b', 'd']
    # no minimum: spread evenly over the names, first and last
    assert names(3, 0) == ['a', 'c', 'd']


def test_a_thinly_spread_class_leaves_room_for_the_next(tmp_path):
    # class 1: one pixel in each of t1-t4; class 2: five pixels in t5.
    # Filling class 1 to 4 pixels first would take both places
    thin = {f't{i}': [[1, 0, 0], [0, 0, 0]] for i in range(1, 5)}
    thin['t5'] = [[2, 2, 2], [2, 2, 0]]
    root = write_scene(tmp_path, scene=thin)
    assert [osp.basename(image)[:2] for image, _ in class_covering_pairs(
        root, 'train', False, 2, 4)] == ['t1', 't5']


def test_class_loss_is_measured_on_pairs_holding_each_class(tmp_path):
    p_true = {0: 0.9, 1: 0.5, 2: 0.2, 3: 0.01}
    layouts = {i: np.array(label) for i, label in
               enumerate(SCENE.values())}
    layouts[9] = np.array([[0, 1, 2, 3]] * 2)  # a synthetic pair

    def probabilities(images):
        out = []
        for image in images:
            label = layouts[int(image[0, 0, 0])]
            p = np.vectorize(p_true.get)(label)
            probs = np.repeat(((1 - p) / 3)[None], 4, 0)
            np.put_along_axis(probs, label[None], p[None], 0)
            out.append(probs)
        return np.stack(out)

    checker = ConsistencyChecker(
        None, model=object(), rule='class_loss', max_real=2,
        real_root=write_scene(tmp_path), reduce_zero_label=False)
    checker.probabilities = probabilities
    # the means of a held-out split are read from that split alone
    held_out = ConsistencyChecker(
        None, model=object(), rule='class_loss', max_real=2,
        real_root=write_scene(tmp_path / 'other', 'val'),
        reduce_zero_label=False, real_split='val')
    held_out.probabilities = probabilities
    with pytest.warns(UserWarning):
        assert held_out.class_loss == pytest.approx(
            [-np.log(0.9), -np.log(0.5), -np.log(0.2), np.inf])
    held_out._class_loss, held_out.real_split = None, 'train'
    with pytest.raises(FileNotFoundError, match='other/img_dir/train'):
        held_out.class_loss
    # the first two pairs by name (a, b) hold class 0 alone; the pairs
    # chosen (a, d) give classes 1 and 2 their own means, and class 3,
    # absent from the train labels, no limit (and a warning)
    with pytest.warns(UserWarning, match=r'classes \[3\] are in none'):
        assert checker.class_loss == pytest.approx(
            [-np.log(0.9), -np.log(0.5), -np.log(0.2), np.inf])
    result, = checker([np.full((2, 4, 3), 9, np.uint8)], [layouts[9]])
    assert result['disagreeing_pixels'] == [0, 0, 0, 0]
    # a stricter multiple ignores the classes whose synthetic loss equals
    # their real mean; the absent class keeps its pixels
    checker.loss_multiple = 0.99
    result, = checker([np.full((2, 4, 3), 9, np.uint8)], [layouts[9]])
    assert result['mask'].tolist() == [[255, 255, 255, 3]] * 2


def test_class_covering_settings_are_checked(tmp_path):
    with pytest.raises(ValueError, match='max_real must be >= 1 and '
                       'min_class_pixels >= 0, got 0 and 5'):
        ConsistencyChecker(None, model=object(), rule='class_loss',
                           real_root='x', max_real=0, min_class_pixels=5)
    with pytest.raises(ValueError, match="real_split='test' would let the "
                       'test labels set the filter'):
        ConsistencyChecker(None, model=object(), rule='class_loss',
                           real_root='x', real_split='test')
    # a label beyond the reference's classes names its file
    checker = ConsistencyChecker(None, model=object(), rule='class_loss',
                                 real_root=write_scene(tmp_path),
                                 reduce_zero_label=False)
    checker.probabilities = lambda images: np.full(
        (len(images), 2, 2, 2), 0.5)
    with pytest.raises(ValueError, match=r'd\.png holds label 2, beyond the '
                       '2 classes'):
        checker.class_loss
