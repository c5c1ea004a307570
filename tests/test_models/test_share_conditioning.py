"""Numeric share conditioning of the mask generator: a zero-initialised
projection, shares that reach the UNet, the share null under guidance,
export round trips and clear errors."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper

from mmseg.registry import MODELS
from dldm_mmseg.models.generators.share_conditioning import (
    SHARE_EMBEDDING_FILE, share_inputs)
from dldm_mmseg.utils.palette import index_to_rgb
from fixtures import POTSDAM_PALETTE

SHARES = torch.tensor([[.5, .5, 0, 0, 0, 0], [0, .2, 0, .3, .5, 0]])
PROMPTS = ['impervious surface: 50%, building: 50%',
           'building: 20%, tree: 30%, car: 50%']


def build(lora_rank=4, seed=0, **kwargs):
    torch.manual_seed(seed)
    return MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=lora_rank,
                             source_dataset='PotsdamDataset',
                             components=dict(preset='tiny'), **kwargs))


def batch():
    labels = np.zeros((2, 16, 16), np.uint8)
    labels[:, 8:] = 1
    rgb = torch.from_numpy(index_to_rgb(labels, POTSDAM_PALETTE))
    return dict(mask=rgb.permute(0, 3, 1, 2).float() / 127.5 - 1,
                label=torch.from_numpy(labels.astype(np.int64)),
                prompt=list(PROMPTS), target_shares=SHARES.clone())


def spy_class_labels(model):
    """The ``class_labels`` of every later UNet call, in a list."""
    seen = []
    original = model.unet.forward

    def spy(*args, **kwargs):
        seen.append(kwargs['class_labels'].clone())
        return original(*args, **kwargs)

    model.unet.forward = spy
    return seen


def unet_output(model, shares=None):
    generator = torch.Generator().manual_seed(3)
    noisy = torch.randn(2, 4, 4, 4, generator=generator)
    text = model.encode_prompt(PROMPTS)
    extra = {} if shares is None else dict(class_labels=share_inputs(shares))
    with torch.no_grad():
        return model.unet(noisy, torch.tensor([10, 700]), text,
                          **extra).sample


def test_zero_initialised_projection_leaves_the_unet_bit_identical():
    plain = build()
    conditioned = build(share_conditioning=dict())
    assert conditioned.share_conditioned and not plain.share_conditioned
    # same base weights and adapters (the embedding is drawn after them)
    assert torch.equal(unet_output(plain),
                       unet_output(conditioned, SHARES))
    trainable = conditioned.trainable_parameters()
    assert any(n.startswith('unet.class_embedding') for n in trainable)
    assert conditioned.unet.config.class_embed_type == 'projection'
    assert conditioned.unet.config.projection_class_embeddings_input_dim \
        == 7


def test_shares_reach_the_unet_after_one_training_step():
    model = build(share_conditioning=dict(dropout=0.0))
    other = torch.tensor([[0, 0, 0, 0, 0, 1.0], [1.0, 0, 0, 0, 0, 0]])
    assert torch.equal(unet_output(model, SHARES), unet_output(model, other))
    wrapper = OptimWrapper(torch.optim.SGD(
        model.trainable_parameters().values(), lr=0.1))
    model.train()
    model.train_step(batch(), wrapper)
    model.eval()
    assert not torch.equal(unet_output(model, SHARES),
                           unet_output(model, other))


def test_dropout_gives_the_null_shares_and_an_empty_prompt_drops_both():
    model = build(share_conditioning=dict(dropout=0.5))
    seen = spy_class_labels(model)
    data = batch()
    data['prompt'] = ['', PROMPTS[1]]   # the dataset dropped the first
    for _ in range(12):
        model.loss(**data)
    labels = torch.stack(seen)          # steps x 2 x 7
    null = torch.tensor([0.] * 6 + [1.])
    assert (labels[:, 0] == null).all()  # no prompt -> no shares either
    kept = (labels[:, 1] == share_inputs(SHARES[1:])[0]).all(1)
    dropped = (labels[:, 1] == null).all(1)
    assert (kept | dropped).all() and kept.any() and dropped.any()


def test_guidance_gives_the_unconditional_copy_the_share_null():
    model = build(share_conditioning=dict())
    seen = []
    original = model.unet.forward

    def spy(sample, timestep, *args, **kwargs):
        seen.append(kwargs.get('class_labels'))
        return original(sample, timestep, *args, **kwargs)

    model.unet.forward = spy
    model.generate_masks(PROMPTS, [1, 2], class_shares=SHARES.numpy(),
                         height=16, width=16, steps=2, guidance_scale=3.0)
    labels = seen[0]
    assert labels.shape == (4, 7)  # [unconditional, conditional]
    assert torch.equal(labels[:2], share_inputs(SHARES, torch.zeros(
        2, dtype=torch.bool)))
    assert torch.equal(labels[2:], share_inputs(SHARES))
    seen.clear()
    model.generate_masks(PROMPTS, [1, 2], height=16, width=16, steps=2,
                         guidance_scale=1.0)  # shares read from the text
    assert seen[0].shape == (2, 7)
    assert torch.allclose(seen[0], share_inputs(SHARES))
    assert model.unet.forward is spy  # the wrapper is removed afterwards


def test_the_shares_change_what_is_drawn():
    model = build(share_conditioning=dict())
    with torch.no_grad():
        model.unet.class_embedding.linear_2.weight.normal_(0, 1.0)
    kwargs = dict(height=16, width=16, steps=3, guidance_scale=1.0)
    one = model.generate_masks(PROMPTS[:1], [4], class_shares=SHARES[:1],
                               **kwargs)
    two = model.generate_masks(PROMPTS[:1], [4], class_shares=SHARES[1:],
                               **kwargs)
    assert not np.array_equal(one['rgb'], two['rgb'])


@pytest.mark.parametrize('lora_rank', [4, None])
def test_export_and_reload_round_trip(tmp_path, lora_rank):
    model = build(lora_rank=lora_rank, share_conditioning=dict())
    with torch.no_grad():
        for p in model.trainable_parameters().values():
            p.add_(torch.randn_like(p) * 0.05)
    out = model.export(str(tmp_path / 'export'))
    if lora_rank:
        assert osp.isfile(osp.join(out, SHARE_EMBEDDING_FILE))
    fresh = build(lora_rank=lora_rank, seed=1, share_conditioning=dict())
    fresh.load_export(out)
    assert torch.equal(unet_output(fresh, SHARES),
                       unet_output(model, SHARES))
    text_only = build(lora_rank=lora_rank, seed=1)
    with pytest.raises(ValueError, match='share conditioning'):
        text_only.load_export(out)


def test_a_text_only_export_refuses_a_share_conditioned_config(tmp_path):
    out = build().export(str(tmp_path / 'export'))
    with pytest.raises(FileNotFoundError, match='without numeric share'):
        build(share_conditioning=dict()).load_export(out)


def test_bad_share_vectors_are_clear_errors_naming_the_prompt():
    model = build(share_conditioning=dict())
    kwargs = dict(height=16, width=16, steps=1)
    with pytest.raises(ValueError, match=r"'building: 70%' sums to 0\.700"):
        model.generate_masks(['building: 70%'], [1], **kwargs)
    with pytest.raises(ValueError, match=r'has 5 values.*6 classes'):
        model.generate_masks(['tree: 100%'], [1],
                             class_shares=[[.2] * 5], **kwargs)
    with pytest.raises(ValueError, match='negative'):
        model.generate_masks(['tree: 100%'], [1],
                             class_shares=[[1.5, -.5, 0, 0, 0, 0]], **kwargs)
    with pytest.raises(ValueError, match='dropout'):
        build(share_conditioning=dict(dropout=1.0))
    with pytest.raises(ValueError, match='takes'):
        build(share_conditioning=dict(scale=2))
    # a prompt without share text draws without a share condition
    out = model.generate_masks(['an aerial image'], [1], **kwargs)
    assert out['labels'].shape == (1, 16, 16)


def test_a_lora_export_loads_in_stock_diffusers_with_the_documented_step(
        tmp_path):
    from diffusers import StableDiffusionPipeline

    from dldm_mmseg.models.generators.components import build_sd_components
    from dldm_mmseg.models.generators.share_conditioning import (
        add_share_embedding, load_share_embedding, unet_share_labels)
    model = build(share_conditioning=dict())
    with torch.no_grad():
        for p in model.trainable_parameters().values():
            p.add_(torch.randn_like(p) * 0.05)
    export = model.export(str(tmp_path / 'export'))
    torch.manual_seed(0)  # the base weights build() drew
    parts = build_sd_components(preset='tiny')
    pipe = StableDiffusionPipeline(
        vae=parts.vae, text_encoder=parts.text_encoder,
        tokenizer=parts.tokenizer, unet=parts.unet, scheduler=parts.scheduler,
        safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)
    pipe.load_lora_weights(export)
    add_share_embedding(pipe.unet, len(model.classes))
    load_share_embedding(pipe.unet, model.classes, export)
    noisy = torch.randn(2, 4, 4, 4)
    text = model.encode_prompt(PROMPTS)
    with torch.no_grad(), unet_share_labels(pipe.unet,
                                            share_inputs(SHARES)) as aim:
        aim(slice(0, 2))
        theirs = pipe.unet(noisy, torch.tensor([10, 700]), text).sample
        ours = model.unet(noisy, torch.tensor([10, 700]), text,
                          class_labels=share_inputs(SHARES)).sample
    assert torch.allclose(theirs, ours, atol=1e-5)


def test_a_half_precision_generator_draws_with_its_shares():
    # synthesis casts the whole generator (the share embedding included)
    # to fp16 on a GPU; the share inputs follow the embedding's dtype
    model = build(share_conditioning=dict()).to(torch.bfloat16)
    out = model.generate_masks(PROMPTS, [1, 2], class_shares=SHARES,
                               height=16, width=16, steps=2,
                               guidance_scale=2.0)
    assert out['labels'].shape == (2, 16, 16)


def test_a_patch_without_labelled_pixels_trains_on_the_null_shares():
    model = build(share_conditioning=dict(dropout=0.0))
    seen = spy_class_labels(model)
    data = batch()
    data['target_shares'][0] = 0
    model.loss(**data)
    assert seen[0][0].tolist() == [0.] * 6 + [1.]
    assert torch.equal(seen[0][1], share_inputs(SHARES[1:])[0])
