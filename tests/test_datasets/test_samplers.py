from collections import Counter
from unittest import mock

import numpy as np
import pytest
from mmengine.dataset import ConcatDataset

from mmseg.registry import DATA_SAMPLERS, DATASETS


class Sized:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


class FakeSynth(Sized):
    pass


def concat(num_real, num_syn):
    from dldm_mmseg.datasets.synth_dataset import DiffusionSynthDataset
    syn = mock.create_autospec(DiffusionSynthDataset, instance=True)
    syn.__len__.return_value = num_syn
    return mock.Mock(datasets=[Sized(num_real), syn],
                     __len__=lambda self: num_real + num_syn)


def build(dataset, rank=0, world_size=1, **kwargs):
    with mock.patch('dldm_mmseg.datasets.samplers.ratio_base.get_dist_info',
                    return_value=(rank, world_size)):
        return DATA_SAMPLERS.build(
            dict(type='MixedRatioSampler', seed=3, **kwargs),
            default_args=dict(dataset=dataset))


@pytest.mark.parametrize('alpha, expected_syn', [
    (0.0, 0), (0.2, 20), (0.4, 40), (0.6, 60), (1.0, 100), (0.333, 33),
    # round, not floor: 0.29 * 100 is 28.999..., 0.456 * 100 is 45.6
    (0.29, 29), (0.456, 46)])
def test_exact_counts_per_epoch(alpha, expected_syn):
    sampler = build(concat(100, 150), syn_ratio=alpha)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        indices = list(sampler)
        real = [i for i in indices if i < 100]
        syn = [i for i in indices if i >= 100]
        assert sorted(real) == list(range(100))  # every real sample once
        assert len(syn) == expected_syn == len(set(syn))
        assert len(sampler) == len(indices) == 100 + expected_syn


def test_resampled_vs_fixed_synthetic_subset():
    fresh = build(concat(50, 200), syn_ratio=0.4)
    fixed = build(concat(50, 200), syn_ratio=0.4, resample_synthetic=False)
    subsets = {}
    for name, sampler in (('fresh', fresh), ('fixed', fixed)):
        subsets[name] = []
        for epoch in range(2):
            sampler.set_epoch(epoch)
            subsets[name].append({i for i in sampler if i >= 50})
    assert subsets['fresh'][0] != subsets['fresh'][1]
    assert subsets['fixed'][0] == subsets['fixed'][1]


def test_deterministic_by_seed_and_shuffled():
    a, b = build(concat(40, 40), syn_ratio=0.5), build(concat(40, 40),
                                                       syn_ratio=0.5)
    assert list(a) == list(b)
    with mock.patch('dldm_mmseg.datasets.samplers.ratio_base.get_dist_info',
                    return_value=(0, 1)):
        c = DATA_SAMPLERS.build(dict(type='MixedRatioSampler', seed=4,
                                     syn_ratio=0.5),
                                default_args=dict(dataset=concat(40, 40)))
    assert list(a) != list(c)
    assert list(a) != sorted(a)  # shuffled
    a.set_epoch(1)
    assert list(a) != list(b)  # a new order each epoch


@pytest.mark.parametrize('world_size, round_up', [(2, True), (3, True),
                                                  (3, False), (4, False)])
def test_rank_shares_disjoint_and_complete(world_size, round_up):
    num_real, alpha = 30, 0.4  # epoch of 42 samples
    full = build(concat(num_real, 20), syn_ratio=alpha).epoch_indices(0)
    shares = [list(build(concat(num_real, 20), rank, world_size,
                         syn_ratio=alpha, round_up=round_up))
              for rank in range(world_size)]
    positions = Counter()
    for share in shares:
        positions.update(share)
    assert set(positions) == set(full)  # complete
    if round_up:
        assert len({len(s) for s in shares}) == 1  # equal lengths
        pad = sum(map(len, shares)) - len(full)
        assert pad < world_size
        assert sum(c - 1 for c in positions.values()) == pad
    else:
        assert sum(map(len, shares)) == len(full)
        assert all(c == 1 for c in positions.values())  # disjoint


def test_infinite_variant_streams_epochs_and_splits_ranks():
    def take(rank, world_size, n):
        with mock.patch('dldm_mmseg.datasets.samplers.ratio_base.'
                        'get_dist_info', return_value=(rank, world_size)):
            sampler = DATA_SAMPLERS.build(
                dict(type='InfiniteMixedRatioSampler', seed=3, syn_ratio=0.4),
                default_args=dict(dataset=concat(10, 10)))
        it = iter(sampler)
        return sampler, [next(it) for _ in range(n)]

    sampler, stream = take(0, 1, 42)  # three epochs of 14
    for epoch in range(3):
        assert stream[epoch * 14:(epoch + 1) * 14] == \
            sampler.epoch_indices(epoch)
    _, r0 = take(0, 2, 21)
    _, r1 = take(1, 2, 21)
    assert r0 == stream[0::2] and r1 == stream[1::2]


@pytest.mark.parametrize('kwargs, message', [
    (dict(syn_ratio=-0.1), 'syn_ratio must be a number >= 0'),
    (dict(syn_ratio=2.0), 'needs 20 synthetic samples'),
])
def test_bad_alpha(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(concat(10, 5), **kwargs)


def test_allow_repeats_and_no_synthetic_set():
    sampler = build(concat(10, 5), syn_ratio=2.0, allow_repeats=True)
    syn = Counter(i for i in sampler if i >= 10)
    assert sum(syn.values()) == 20 and set(syn.values()) == {4}
    with pytest.raises(ValueError, match='DiffusionSynthDataset'):
        build(Sized(10), syn_ratio=0.4)
    assert sorted(build(Sized(10), syn_ratio=0.0)) == list(range(10))


def potsdam_train(root):
    return DATASETS.build(dict(type='PotsdamDataset', data_root=root,
                               data_prefix=dict(img_path='img_dir/train',
                                                seg_map_path='ann_dir/train')))


def build_oversampler(dataset, **kwargs):
    with mock.patch('dldm_mmseg.datasets.samplers.ratio_base.get_dist_info',
                    return_value=(0, 1)):
        return DATA_SAMPLERS.build(
            dict(type='ClassAwareOversampler', seed=0, **kwargs),
            default_args=dict(dataset=dataset))


def patches_holding(dataset, label_values):
    """Indices of the samples whose label map holds any of the values."""
    from dldm_mmseg.utils.label_stats import read_label_map
    return {i for i in range(len(dataset)) if np.isin(
        read_label_map(dataset.get_data_info(i)['seg_map_path']),
        label_values).any()}


def real_and_synthetic(seg_root, synth_root):
    """The fixture's real Potsdam patches, and them concatenated with its
    synthetic set."""
    real = potsdam_train(seg_root)
    syn = DATASETS.build(dict(type='DiffusionSynthDataset',
                              source_dataset='PotsdamDataset',
                              data_root=synth_root))
    return real, ConcatDataset([real, syn])


def test_real_concat_with_synth_dataset(seg_root, synth_root):
    real, dataset = real_and_synthetic(seg_root, synth_root)
    sampler = build(dataset, syn_ratio=0.5)
    indices = list(sampler)
    assert sum(i >= len(real) for i in indices) == 4
    syn_info = dataset[next(i for i in indices if i >= len(real))]
    assert syn_info['seg_map_path'].startswith(synth_root)
    assert syn_info['reduce_zero_label'] is True  # Potsdam's encoding


def test_class_aware_oversampler_draws_rare_patches(seg_root):
    real = potsdam_train(seg_root)
    sampler = build_oversampler(real, oversample_ratio=0.5,
                                rare_classes=['car', 'clutter'],
                                min_share=0.01)
    rare_ids = patches_holding(real, [5, 6])
    assert set(sampler.pool.tolist()) == rare_ids and rare_ids
    counts = Counter(sampler)
    assert sum(counts.values()) == len(real) + 4
    extra = [i for i, c in counts.items() for _ in range(c - 1)]
    assert len(extra) == 4 and set(extra) <= rare_ids
    with pytest.raises(ValueError, match='not classes'):
        DATA_SAMPLERS.build(dict(type='ClassAwareOversampler',
                                 rare_classes=['boat'], seed=0),
                            default_args=dict(dataset=real))


def test_class_aware_oversampler_finds_rare_classes_itself(seg_root):
    # the fixture's pixel shares: classes 1..4 about 23-27% each, car (5)
    # and clutter (6) 0.8% each, in two of the eight patches
    real = potsdam_train(seg_root)
    sampler = build_oversampler(real, oversample_ratio=0.5)  # thr 0.05
    assert sampler.rare_classes == ['car', 'clutter']
    rare_ids = patches_holding(real, [5, 6])
    assert set(sampler.pool.tolist()) == rare_ids
    assert 0 < len(rare_ids) < len(real)
    extra = [i for i, c in Counter(sampler).items() for _ in range(c - 1)]
    assert len(extra) == 4 and set(extra) <= rare_ids
    # a threshold under every share leaves no class rare, hence no pool
    with pytest.raises(ValueError,
                       match=r'no training patch holds .* below 0\.005 '):
        build_oversampler(real, rare_share_thr=0.005)


def old_epoch(seed, epoch, real, syn_pool, num_syn):
    """An epoch as the sampler drew it before ``oversample_ratio``: real +
    synthetic draws from stream 1, shuffled by stream 0."""
    rng = np.random.default_rng([seed, epoch, 1])
    extra = rng.permutation(syn_pool)[:num_syn]
    order = np.random.default_rng([seed, epoch, 0])
    return order.permutation(np.concatenate([real, extra])).tolist()


def test_mixed_sampler_without_oversampling_draws_as_before():
    sampler = build(concat(20, 30), syn_ratio=0.4)
    for epoch in range(2):
        assert sampler.epoch_indices(epoch) == old_epoch(
            3, epoch, np.arange(20), np.arange(20, 50), 8)


def test_mixed_sampler_also_oversamples_rare_real_patches(seg_root,
                                                          synth_root):
    real, dataset = real_and_synthetic(seg_root, synth_root)
    plain = build(dataset, syn_ratio=0.5)
    sampler = build(dataset, syn_ratio=0.5, oversample_ratio=0.5,
                    rare_classes=['car', 'clutter'])
    rare_ids = patches_holding(real, [5, 6])
    assert 0 < len(rare_ids) < len(real)
    assert set(sampler.rare_pool.tolist()) == rare_ids
    assert sampler.rare_classes == ['car', 'clutter']
    for epoch in range(3):
        indices = sampler.epoch_indices(epoch)
        counts = Counter(i for i in indices if i < len(real))
        assert set(counts) == set(range(len(real)))  # every real patch
        repeats = [i for i, c in counts.items() for _ in range(c - 1)]
        assert len(repeats) == 4 and set(repeats) <= rare_ids
        # the synthetic draws are the plain sampler's
        assert sorted(i for i in indices if i >= len(real)) == sorted(
            i for i in plain.epoch_indices(epoch) if i >= len(real))
    assert len(sampler) == len(real) + 4 + 4


def test_mixed_sampler_oversampling_errors(seg_root, synth_root):
    _, dataset = real_and_synthetic(seg_root, synth_root)
    with pytest.raises(ValueError, match='oversample_ratio must be a number'):
        build(dataset, syn_ratio=0.5, oversample_ratio=-1)
    with pytest.raises(ValueError, match=r'oversample_ratio=0\.5: no '
                       r'training patch .*or set oversample_ratio=0'):
        build(dataset, syn_ratio=0.5, oversample_ratio=0.5,
              rare_share_thr=0.005)


def test_real_part_finds_the_dataset_of_the_real_samples():
    from dldm_mmseg.datasets.samplers import real_part

    class Part(Sized):
        def __init__(self, n, name):
            super().__init__(n)
            self.name = name

    class Concat(Sized):  # mmengine ConcatDataset's index attributes
        def __init__(self, parts):
            super().__init__(sum(map(len, parts)))
            self.datasets = parts
            self.cumulative_sizes = np.cumsum(list(map(len, parts))).tolist()

    syn, real, more = Part(3, 'syn'), Part(4, 'real'), Part(2, 'more')
    nested = Concat([syn, Concat([real, more])])
    assert real_part(nested, np.array([3, 4])).name == 'real'
    assert real_part(nested, np.array([7])).name == 'more'
    assert real_part(nested, np.array([0])).name == 'syn'
    assert real_part(real, np.array([0])) is real


class StageOneLike:
    """A dataset as stage 1's ``MaskCaptionDataset`` is to the sampler:
    ``reduce_zero_label`` on the dataset, not in each sample's info."""

    def __init__(self, real):
        self.real, self.metainfo = real, real.metainfo
        self.reduce_zero_label = True

    def __len__(self):
        return len(self.real)

    def get_data_info(self, index):
        return dict(seg_map_path=self.real.get_data_info(index)[
            'seg_map_path'])


def test_class_aware_oversampler_serves_stage_one(seg_root):
    # the generators' training can enrich rare patches as the segmentor's
    # does: the label maps are read with the dataset's reduce_zero_label
    real = potsdam_train(seg_root)
    sampler = build_oversampler(StageOneLike(real), oversample_ratio=0.5,
                                rare_classes=['car', 'clutter'])
    assert set(sampler.pool.tolist()) == patches_holding(real, [5, 6])
