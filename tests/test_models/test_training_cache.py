"""cache_latents / cache_text: frozen-encoder outputs computed once per
training view, with the same losses as encoding every step."""
import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper
from torch.utils.data import default_collate

from mmseg.registry import DATASETS
from dldm_mmseg.models.generators.training_cache import EncodingCache
from test_generators import IMAGE_CFG, MASK_CFG, build, data  # noqa: F401


def test_dataset_names_each_view(data):  # noqa: F811
    ds = DATASETS.build(dict(type='MaskCaptionDataset', data_root=data,
                             source_dataset='PotsdamDataset',
                             crop_size=(16, 16), load_image=True))
    np.random.seed(0)
    by_view = {}
    for _ in range(40):
        sample = ds[0]
        assert sample['view'].startswith(sample['sample_id'] + '@')
        pixels = torch.cat([sample['mask'], sample['image']])
        if sample['view'] in by_view:  # same name, same pixels
            assert torch.equal(by_view[sample['view']], pixels)
        by_view[sample['view']] = pixels
    assert len(by_view) > 10  # crops, flips and turns are all in the name
    distinct = {tuple(p.flatten().tolist()) for p in by_view.values()}
    assert len(distinct) == len(by_view)


def counting(module, method):
    calls = []
    original = getattr(module, method)

    def wrapped(x, *args, **kwargs):
        calls.append(x.shape[0])
        return original(x, *args, **kwargs)
    setattr(module, method, wrapped)
    return calls


def batch(data, load_image):  # noqa: F811
    ds = DATASETS.build(dict(type='MaskCaptionDataset', data_root=data,
                             source_dataset='PotsdamDataset',
                             load_image=load_image))
    np.random.seed(1)
    return default_collate([ds[i] for i in range(3)])


@pytest.mark.parametrize('config', [MASK_CFG, IMAGE_CFG])
def test_cached_step_has_the_losses_of_an_encoding_step(config, data):  # noqa: F811,E501
    inputs = batch(data, load_image=config == IMAGE_CFG)
    plain, _ = build(config, data)
    cached, _ = build(config, data, cache_latents=True, cache_text=True)
    cached.load_state_dict(plain.state_dict(), strict=False)
    encodes = counting(cached.vae, 'encode')
    texts = counting(cached.text_encoder, 'forward')
    losses = []
    for model in (plain, cached, cached):
        torch.manual_seed(3)
        losses.append({k: v.item() for k, v in
                       model(mode='loss', **inputs).items()})
    # the second cached step runs neither encoder, and changes nothing
    assert encodes == [3] and texts == [3]
    assert len(cached.latent_cache) == 3 and len(cached.text_cache) == 3
    for name, value in losses[0].items():
        assert losses[1][name] == pytest.approx(value, rel=1e-5, abs=1e-7)
        assert losses[2][name] == pytest.approx(value, rel=1e-5, abs=1e-7)
    # evaluation never reads or fills the cache
    cached.eval()
    cached(mode='loss', **inputs)
    assert encodes == [3, 3]


def test_hit_rates_are_logged_per_batch(data):  # noqa: F811
    inputs = batch(data, load_image=False)
    model, _ = build(MASK_CFG, data, cache_latents=True,
                     grad_norm_interval=0)
    wrapper = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.0))
    first = model.train_step(inputs, wrapper)
    second = model.train_step(inputs, wrapper)
    assert first['cache_hits_latents'] == 0
    assert second['cache_hits_latents'] == 1
    assert 'cache_hits_text' not in second


def test_cache_refuses_what_it_cannot_serve(data):  # noqa: F811
    model, _ = build(MASK_CFG, data, cache_latents=True)
    inputs = dict(batch(data, load_image=False))
    inputs.pop('view')
    with pytest.raises(ValueError, match="'view' key.*cache_latents=False"):
        model(mode='loss', **inputs)
    with pytest.raises(ValueError, match='cache_text=True needs a frozen '
                       'CLIPTextModel.*set cache_text=False'):
        build(MASK_CFG, data, cache_text=True, train_text_encoder=True,
              lora_rank=None)


def test_encoding_cache_bound_and_stacking():
    cache = EncodingCache(max_items=2)
    seen = []

    def compute(indices):
        seen.append(list(indices))
        values = torch.tensor([float(ord(keys[i])) for i in indices])
        return values, values * 2

    keys = ['a', 'b', 'c', 'a']
    first, double = cache.lookup(keys, compute, torch.device('cpu'))
    assert first.tolist() == [97, 98, 99, 97] and torch.equal(double,
                                                              first * 2)
    assert seen == [[0, 1, 2, 3]] and len(cache) == 2  # a, b kept; c not
    keys = ['c', 'b']
    again, _ = cache.lookup(keys, compute, torch.device('cpu'))
    assert again.tolist() == [99, 98] and seen[-1] == [0]
    assert cache.last_hit_rate == 0.5 and cache.hit_rate() == 1 / 6
    assert cache.nbytes == 2 * 2 * 4
    with pytest.raises(ValueError, match='cache_max_items'):
        EncodingCache(max_items=-1)
