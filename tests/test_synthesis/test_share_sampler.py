"""TargetShareSampler does what its documentation says."""
import json
import os.path as osp

import numpy as np
import pytest

from dldm_mmseg.datasets.captioning import write_captions
from dldm_mmseg.synthesis.share_sampler import TargetShareSampler
from fixtures import POTSDAM_CLASSES, make_seg_dataset

CLASSES = POTSDAM_CLASSES


def test_minimum_shares_hold_after_the_rescale():
    # Raising car to 0.5 halves the rest, which pushes tree (0.25 -> 0.125)
    # below its own minimum: one pass left it there.
    patch = [0.45, 0.3, 0, 0.25, 0, 0]
    sampler = TargetShareSampler(POTSDAM_CLASSES, mode='fixed',
                                 fixed_shares=patch,
                                 min_shares=dict(tree=0.2, car=0.5))
    shares = sampler(0)['shares']
    assert shares[POTSDAM_CLASSES.index('car')] >= 0.5 - 1e-9
    assert shares[POTSDAM_CLASSES.index('tree')] >= 0.2 - 1e-9
    assert shares.sum() == pytest.approx(1)
    # the room left (0.3) is split between the others in proportion
    assert shares[0] / shares[1] == pytest.approx(0.45 / 0.3, rel=0.05)


def test_rarity_frequency_is_the_share_of_all_valid_pixels():
    real = np.array([[1.0, 0, 0, 0, 0, 0], [0.5, 0, 0, 0, 0.5, 0]])
    equal = TargetShareSampler(POTSDAM_CLASSES, real)
    weighted = TargetShareSampler(POTSDAM_CLASSES, real,
                                  pixel_counts=[100, 9900])
    car = POTSDAM_CLASSES.index('car')
    assert equal.frequency[car] == pytest.approx(0.25)
    assert weighted.frequency[car] == pytest.approx(0.5 * 9900 / 10000)
    with pytest.raises(ValueError, match='one non-negative count per patch'):
        TargetShareSampler(POTSDAM_CLASSES, real, pixel_counts=[1, 2, 3])


def test_captions_record_valid_pixel_counts(tmp_path):
    root = make_seg_dataset(str(tmp_path / 'real'), num_train=2, num_val=0,
                            size=16)
    path = write_captions(root, POTSDAM_CLASSES, True, 'img_dir/train',
                          'ann_dir/train')
    with open(path) as f:
        records = [json.loads(line) for line in f]
    # every fixture patch has one ignore (0) pixel
    assert [r['pixels'] for r in records] == [16 * 16 - 1] * 2
    assert osp.isfile(path)


def test_sparse_user_shares_are_kept_and_the_rest_fills_to_100():
    from dldm_mmseg.utils.prompts import parse_share_spec
    rng = np.random.default_rng(0)
    real = rng.dirichlet(np.ones(6), size=20)
    user = parse_share_spec('car=5, clutter:8%', CLASSES)
    assert user == {'car': 0.05, 'clutter': 0.08}
    sampler = TargetShareSampler(CLASSES, real, user_shares=user, seed=3)
    for i in range(20):
        shares = sampler(i)['shares']
        assert shares.sum() == pytest.approx(1.0)
        assert shares[4] == pytest.approx(0.05)
        assert shares[5] == pytest.approx(0.08)
        # the free classes keep the drawn patch's proportions (to rounding)
        plain = TargetShareSampler(CLASSES, real, seed=3)(i)['shares'][:4]
        free = shares[:4]
        assert np.abs(free / free.sum() - plain / plain.sum()).max() < 0.03
    full = parse_share_spec('impervious_surface=30,building=20,'
                            'low vegetation=30,tree=10,car=5,clutter=5',
                            CLASSES)
    shares = TargetShareSampler(CLASSES, real, user_shares=full)(0)['shares']
    assert np.allclose(shares, [.3, .2, .3, .1, .05, .05])


@pytest.mark.parametrize('text,message', [
    ('lake=5', "unknown class 'lake'"),
    ('car=60,clutter=50', 'sum to 110%'),
    ('car=-5', 'negative'),
    ('car=5,car=6', 'given twice'),
    ('car five', 'cannot read'),
    ('impervious_surface=30,building=20,low_vegetation=30,tree=10,car=5,'
     'clutter=1', 'must sum to 100%'),
])
def test_bad_share_specifications_are_errors(text, message):
    from dldm_mmseg.utils.prompts import parse_share_spec
    with pytest.raises(ValueError, match=message):
        parse_share_spec(text, CLASSES)


def test_weak_class_mode_reads_metrics_and_boosts_low_iou_classes(tmp_path):
    from dldm_mmseg.synthesis.share_sampler import class_weakness
    metrics = {f'IoU.{c}': v for c, v in zip(
        CLASSES, [90.0, 85.0, 95.0, 30.0, 60.0, float('nan')])}
    path = tmp_path / 'metrics.json'
    path.write_text(json.dumps(metrics).replace('NaN', 'NaN'))
    weakness = class_weakness(str(path), CLASSES)
    # ranked by IoU: clutter (never predicted), tree, car, ... low veg
    assert list(np.argsort(-weakness)) == [5, 3, 4, 1, 0, 2]
    # patches holding one class each (low vegetation three times): the
    # frequency mode draws the five rarer classes' patches alike, the
    # weak-class mode by weakness (clutter, then tree, most)
    real = np.eye(6)[[0, 1, 2, 2, 2, 3, 4, 5]]
    weak = TargetShareSampler(CLASSES, real, rarity_exponent=1.0,
                              weak_classes=str(path))
    assert list(np.argsort(-weak.patch_probs)[:2]) == [7, 5]
    assert weak.patch_probs[5] / weak.patch_probs[0] == pytest.approx(
        (1 - 0.30 + 0.01) / (1 - 0.90 + 0.01))
    freq = TargetShareSampler(CLASSES, real, rarity_exponent=1.0)
    assert freq.patch_probs[5] == pytest.approx(freq.patch_probs[0])
    assert freq.patch_probs[5] == pytest.approx(freq.patch_probs[7])
    # low vegetation covers 3/8 of the pixels, the others 1/8 each: its
    # patches are drawn at (3/8)^-1 / (1/8)^-1 = 1/3 the rate
    assert freq.patch_probs[2] == pytest.approx(freq.patch_probs[0] / 3)
    assert freq.patch_probs.sum() == pytest.approx(1)
    flat = TargetShareSampler(CLASSES, real, rarity_exponent=0.0)
    assert np.allclose(flat.patch_probs, 1 / len(real))
    with pytest.raises(ValueError, match=r"no IoU.<class> for \['car'\]"):
        class_weakness({f'IoU.{c}': 50 for c in CLASSES if c != 'car'},
                       CLASSES)


def test_patch_hardness_weighs_each_patch_by_id(tmp_path):
    # four patches of one class each: without hardness the frequency boost
    # draws them alike; with it, in proportion to hardness ** exponent
    real = np.eye(6)[[0, 0, 4, 4]]
    ids = ['p0', 'p1', 'p2', 'p3']
    hardness = {'p0': 0.0, 'p1': 1.0, 'p2': 2.0, 'p3': 1.0}
    plain = TargetShareSampler(CLASSES, real, rarity_exponent=1.0)
    assert np.allclose(plain.patch_probs, 0.25)
    hard = TargetShareSampler(CLASSES, real, rarity_exponent=1.0,
                              patch_hardness=hardness, patch_ids=ids)
    assert np.allclose(hard.patch_probs, [0, 0.25, 0.5, 0.25])
    squared = TargetShareSampler(CLASSES, real, patch_hardness=hardness,
                                 hardness_exponent=2.0, patch_ids=ids)
    assert np.allclose(squared.patch_probs, [0, 1 / 6, 4 / 6, 1 / 6])
    # a patch of hardness 0 is never drawn; the hardest most often
    drawn = [hard(i)['patch'] for i in range(400)]
    assert 0 not in drawn
    assert np.bincount(drawn, minlength=4).argmax() == 2
    # the frequency boost and the hardness multiply: car's patch is three
    # times as likely by frequency (a quarter of the pixels against three)
    mixed = TargetShareSampler(CLASSES, np.eye(6)[[0, 0, 0, 4]],
                               rarity_exponent=1.0,
                               patch_hardness=hardness, patch_ids=ids)
    assert mixed.patch_probs[3] / mixed.patch_probs[1] == pytest.approx(3)


def test_patch_hardness_from_a_file_through_the_captions(tmp_path):
    root = make_seg_dataset(str(tmp_path / 'real'), num_train=3, num_val=0,
                            size=16)
    captions = write_captions(root, CLASSES, True, 'img_dir/train',
                              'ann_dir/train')
    with open(captions) as f:
        lines = f.readlines()
    ids = sorted(json.loads(line)['id'] for line in lines)
    with open(captions, 'w') as f:  # file order is not id order
        f.writelines(lines[::-1])
    path = tmp_path / 'hardness.json'
    path.write_text(json.dumps(dict(hardness={
        ids[0]: 0.5, ids[1]: 0.0, ids[2]: 0.0, 'elsewhere': 9.0})))
    sampler = TargetShareSampler.from_captions(
        CLASSES, captions, patch_hardness=str(path))
    drawn = {sampler(i)['patch'] for i in range(20)}
    assert [sampler.patches[p]['id'] for p in drawn] == [ids[0]]
    assert sampler(0)['caption'] == sampler.patches[drawn.pop()]['caption']


@pytest.mark.parametrize('hardness, ids, error, message', [
    ({'a': 1.0}, ['a', 'b'], ValueError,
     r"no value for 1 of the 2 real patches \(e.g. \['b'\]\)"),
    ({'a': 1.0, 'b': -1.0}, ['a', 'b'], ValueError,
     "patch 'b' has hardness -1.0; each must be a finite number >= 0"),
    ({'a': 1.0, 'b': float('nan')}, ['a', 'b'], ValueError, 'finite'),
    ({'a': 0.0, 'b': 0.0}, ['a', 'b'], ValueError,
     'every patch hardness 0'),
    ({'a': 1.0, 'b': 1.0}, None, ValueError, 'keyed by patch id'),
    ({'a': 1.0, 'b': 'hard'}, ['a', 'b'], ValueError,
     "patch 'b' has hardness 'hard'"),
    ('/no/such/hardness.json', ['a', 'b'], FileNotFoundError,
     'patch_hardness file /no/such/hardness.json does not exist'),
])
def test_bad_patch_hardness_is_named(hardness, ids, error, message):
    with pytest.raises(error, match=message):
        TargetShareSampler(CLASSES, np.eye(6)[[0, 1]],
                           patch_hardness=hardness, patch_ids=ids)
    with pytest.raises(ValueError, match="mode='fixed' draws none"):
        TargetShareSampler(CLASSES, mode='fixed', fixed_shares=[1] * 6,
                           patch_hardness=hardness)


@pytest.mark.parametrize('exponent', [0, -1, float('inf')])
def test_the_hardness_exponent_must_be_positive(exponent):
    with pytest.raises(ValueError, match='hardness_exponent must be a '
                       'finite number > 0'):
        TargetShareSampler(CLASSES, np.eye(6)[[0, 1]],
                           patch_hardness={'a': 0.0, 'b': 1.0},
                           hardness_exponent=exponent, patch_ids=['a', 'b'])


def test_a_hardness_file_that_is_not_an_object_is_named(tmp_path):
    path = tmp_path / 'hardness.json'
    path.write_text('[1, 2]')
    with pytest.raises(ValueError, match='holds list, not patch id'):
        TargetShareSampler(CLASSES, np.eye(6)[[0, 1]],
                           patch_hardness=str(path), patch_ids=['a', 'b'])


def test_absent_share_sets_the_draws_of_patches_without_the_classes():
    # car-free patches 0-2, car patches 3-4: the car boost draws the car
    # patches nearly always; absent_share gives the car-free ones 40%
    real = np.array([[1.0, 0, 0, 0, 0, 0], [0.5, 0.5, 0, 0, 0, 0],
                     [0, 0, 1.0, 0, 0, 0], [0.9, 0, 0, 0, 0.1, 0],
                     [0.8, 0, 0, 0, 0.2, 0]])
    car = CLASSES.index('car')
    boosted = TargetShareSampler(CLASSES, real, rarity_exponent=1.0)
    assert boosted.patch_probs[:3].sum() < 0.4
    kept = TargetShareSampler(CLASSES, real, rarity_exponent=1.0,
                              absent_classes=['car'], absent_share=0.4)
    assert kept.patch_probs[:3].sum() == pytest.approx(0.4)
    # each group keeps its own weights
    for group in (slice(0, 3), slice(3, 5)):
        assert np.allclose(
            kept.patch_probs[group] / kept.patch_probs[group].sum(),
            boosted.patch_probs[group] / boosted.patch_probs[group].sum())
    drawn = np.array([kept(i)['shares'][car] for i in range(2000)])
    assert (drawn == 0).mean() == pytest.approx(0.4, abs=0.04)
    # 1 draws only the car-free patches, 0 none of them
    only = TargetShareSampler(CLASSES, real, absent_classes=['car'],
                              absent_share=1.0)
    assert all(only(i)['shares'][car] == 0 for i in range(50))
    none = TargetShareSampler(CLASSES, real, absent_classes=['car'],
                              absent_share=0)
    assert all(none(i)['shares'][car] > 0 for i in range(50))


def test_absent_share_counts_presence_and_follows_the_hardness():
    # patch 1's car share (0.003) is below presence: it counts as car-free
    real = np.array([[1.0, 0, 0, 0, 0, 0], [0.997, 0, 0, 0, 0.003, 0],
                     [0.9, 0, 0, 0, 0.1, 0], [0.8, 0, 0, 0, 0.2, 0]])
    ids = ['p0', 'p1', 'p2', 'p3']
    hardness = {'p0': 1.0, 'p1': 3.0, 'p2': 0.0, 'p3': 2.0}
    sampler = TargetShareSampler(CLASSES, real, absent_classes=['car'],
                                 absent_share=0.5, patch_hardness=hardness,
                                 patch_ids=ids)
    # each group in proportion to its hardness-weighted draw weight
    assert np.allclose(sampler.patch_probs, [0.125, 0.375, 0, 0.5])
    # a group whose every patch has hardness 0 cannot be drawn
    with pytest.raises(ValueError, match='patch_hardness gives each 0'):
        TargetShareSampler(CLASSES, real, absent_classes=['car'],
                           absent_share=0.5, patch_ids=ids,
                           patch_hardness=dict(hardness, p3=0.0))


@pytest.mark.parametrize('options, message', [
    (dict(absent_share=0.3), 'needs absent_classes, a non-empty list'),
    (dict(absent_classes='car', absent_share=0.3), 'got \'car\''),
    (dict(absent_classes=['car']),
     r"absent_classes=\['car'\] does nothing without "
     r"synthesis.shares.absent_share"),
    (dict(absent_classes=['lake'], absent_share=0.3),
     r"absent_classes \['lake'\] are not classes of the set"),
    (dict(absent_classes=['car'], absent_share=1.5),
     'must be a number from 0 to 1, got 1.5'),
    (dict(absent_classes=['car'], absent_share=True), 'got True'),
    (dict(absent_classes=['car'], absent_share=0.3,
          min_shares=dict(car=0.02)),
     r"min_shares puts \['car'\] in every sample"),
    (dict(absent_classes=['car'], absent_share=0.3,
          user_shares=dict(car=0.05)),
     r"user_shares puts \['car'\] in every sample"),
    (dict(absent_classes=['tree'], absent_share=0.5),
     r"draws 50% of the samples from real patches that hold any of "
     r"\['tree'\], and none can be drawn"),
    (dict(absent_classes=['impervious_surface', 'car'], absent_share=0.2),
     r"draws 20% of the samples from real patches that hold none of"),
])
def test_a_bad_absent_share_is_named(options, message):
    real = np.array([[1.0, 0, 0, 0, 0, 0], [0.8, 0, 0, 0, 0.2, 0]])
    with pytest.raises(ValueError, match=message):
        TargetShareSampler(CLASSES, real, **options)


def test_absent_share_needs_real_patches():
    # a numpy number is a number; fixed shares draw no patch
    TargetShareSampler(CLASSES, np.array([[1.0, 0, 0, 0, 0, 0],
                                          [0.8, 0, 0, 0, 0.2, 0]]),
                       absent_classes=['car'], absent_share=np.float32(0.4))
    with pytest.raises(ValueError, match="mode='fixed' draws none"):
        TargetShareSampler(CLASSES, mode='fixed', fixed_shares=[1] * 6,
                           absent_classes=['car'], absent_share=0.3)
