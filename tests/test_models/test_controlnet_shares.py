"""Stage 2 with numeric share conditioning (``share_conditioning``): the
ControlNet takes the mask's class shares beside the mask, from a
zero-initialised projection; the shares reach it once trained, get the
null under guidance and dropout, and exports say whether they hold it."""
import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper

from dldm_mmseg.models.generators.share_conditioning import share_inputs
from dldm_mmseg.utils.palette import index_to_rgb
from test_generators import IMAGE_CFG, batch_of, build, data  # noqa: F401

SHARES = torch.tensor([[.5, .5, 0, 0, 0, 0], [0, .2, 0, .3, .5, 0]])
OTHER = torch.tensor([[0, 0, 0, 0, 0, 1.0], [1.0, 0, 0, 0, 0, 0]])


def make(data_root, seed=0, **kwargs):
    torch.manual_seed(seed)
    model, _ = build(IMAGE_CFG, data_root, zero_convolutions=False,
                     **kwargs)
    return model


def residuals(model, shares=None, condition=None, controlnet=None):
    """The ControlNet's (``model``'s by default) residuals for fixed
    noise, text and mask."""
    generator = torch.Generator().manual_seed(3)
    side = 32 // model.vae_scale_factor
    noisy = torch.randn(2, 4, side, side, generator=generator)
    if condition is None:
        condition = torch.rand(2, 3, 32, 32, generator=generator)
    extra = {} if shares is None else dict(class_labels=share_inputs(shares))
    with torch.no_grad():
        down, mid = (controlnet or model.controlnet)(
            noisy, torch.tensor([10, 700]),
            encoder_hidden_states=model.encode_prompt(['a', 'b']),
            controlnet_cond=condition, return_dict=False, **extra)
    return torch.cat([r.flatten() for r in down] + [mid.flatten()])


def spy_class_labels(model):
    """The ``class_labels`` of every later ControlNet call, in a list."""
    seen = []
    original = model.controlnet.forward

    def spy(*args, **kwargs):
        seen.append(kwargs.get('class_labels'))
        return original(*args, **kwargs)

    model.controlnet.forward = spy
    return seen


def test_zero_initialised_projection_leaves_the_controlnet_bit_identical(
        data):  # noqa: F811
    plain = make(data)
    conditioned = make(data, share_conditioning=dict())
    assert conditioned.share_conditioned and not plain.share_conditioned
    assert torch.equal(residuals(plain), residuals(conditioned, SHARES))
    assert any(n.startswith('controlnet.class_embedding')
               for n in conditioned.trainable_parameters())
    config = conditioned.controlnet.config
    assert config.class_embed_type == 'projection'
    assert config.projection_class_embeddings_input_dim == 7
    assert conditioned.unet.class_embedding is None  # SD stays as it was


def test_shares_reach_the_controlnet_after_one_training_step(
        data):  # noqa: F811
    model = make(data, share_conditioning=dict(dropout=0.0))
    assert torch.equal(residuals(model, SHARES), residuals(model, OTHER))
    seen = spy_class_labels(model)
    batch = batch_of(data, load_image=True, n=3)
    batch['target_shares'][2] = 0     # a patch without labelled pixels
    wrapper = OptimWrapper(torch.optim.SGD(
        model.trainable_parameters().values(), lr=0.1))
    model.train()
    model.train_step(batch, wrapper)
    model.eval()
    expected = share_inputs(batch['target_shares'], torch.tensor(
        [True, True, False]))
    assert torch.equal(seen[0], expected)
    assert not torch.equal(residuals(model, SHARES),
                           residuals(model, OTHER))


def test_training_feeds_the_batch_shares_with_dropout_and_the_prompt(
        data):  # noqa: F811
    model = make(data, share_conditioning=dict(dropout=0.5))
    seen = spy_class_labels(model)
    batch = batch_of(data, load_image=True)
    batch['prompt'] = ['', batch['prompt'][1]]  # the dataset dropped one
    for _ in range(12):
        model.loss(**batch)
    labels = torch.stack(seen)              # steps x 2 x 7
    null = torch.tensor([0.] * 6 + [1.])
    assert (labels[:, 0] == null).all()     # no prompt -> no shares
    own = share_inputs(batch['target_shares'][1:])[0]
    kept = (labels[:, 1] == own).all(1)
    dropped = (labels[:, 1] == null).all(1)
    assert (kept | dropped).all() and kept.any() and dropped.any()
    del batch['target_shares']
    with pytest.raises(ValueError, match='target_shares'):
        model.loss(**batch)


def test_painting_measures_the_mask_shares_and_guidance_gets_the_null(
        data):  # noqa: F811
    model = make(data, share_conditioning=dict())
    masks = np.full((3, 32, 32), 255, np.uint8)
    masks[0] = 0
    masks[0, :, 16:] = 1                    # 50% / 50%
    masks[1, :8, :8] = 4                    # the rest is ignore
    masks[1, 8:16, :8] = 5
    masks[1, 16:19, :8] = 2                 # 3 of 19 rows: 15.8% -> 16%
    # masks[2] has no labelled pixel: the null
    seen = spy_class_labels(model)
    model.generate_images(masks, ['x', 'y', 'z'], [1, 2, 3], steps=2,
                          guidance_scale=3.0, batch_size=2)
    expected = torch.tensor([[.5, .5, 0, 0, 0, 0],
                             [0, 0, .16, 0, .42, .42],
                             [0, 0, 0, 0, 0, 0]])
    keep = torch.tensor([True, True, False])
    null = share_inputs(expected, torch.zeros(3, dtype=torch.bool))
    # [unconditional, conditional] copies of each batch of two
    assert torch.allclose(seen[0], torch.cat([null[:2], share_inputs(
        expected[:2])]))
    assert torch.allclose(seen[-1], torch.cat([null[2:], share_inputs(
        expected[2:], keep[2:])]))
    # colour masks give the same shares; an empty prompt gets the null
    rgb = index_to_rgb(masks, model.palette)
    assert np.array_equal(model.mask_shares(rgb), model.mask_shares(masks),
                          equal_nan=True)
    seen.clear()
    model.generate_images(masks[:1], [''], [1], steps=2, guidance_scale=1.0)
    assert torch.equal(seen[0], null[:1])
    assert model.controlnet.forward.__name__ == 'spy'  # wrapper removed


def test_the_shares_change_what_is_painted(data, monkeypatch):  # noqa: F811
    model = make(data, share_conditioning=dict())
    with torch.no_grad():
        model.controlnet.class_embedding.linear_2.weight.normal_(0, 1.0)
    masks = np.zeros((1, 32, 32), np.uint8)
    kwargs = dict(steps=2, guidance_scale=1.0)
    one = model.generate_images(masks, ['x'], [4], **kwargs)
    monkeypatch.setattr(model, 'mask_shares',
                        lambda masks: OTHER[:1].numpy().copy())
    two = model.generate_images(masks, ['x'], [4], **kwargs)
    assert not np.array_equal(one, two)   # the same mask, other shares


def test_export_and_reload_round_trip_and_refusals(
        data, tmp_path):  # noqa: F811
    model = make(data, share_conditioning=dict())
    with torch.no_grad():
        model.controlnet.class_embedding.linear_2.weight.normal_(0, 1.0)
    masks = np.random.default_rng(0).integers(0, 6, (1, 32, 32))
    images = model.generate_images(masks, ['x'], [2], steps=2)
    export = model.export(str(tmp_path / 'cn'))
    fresh = make(data, seed=5, share_conditioning=dict())
    fresh.load_export(export)
    assert np.array_equal(images, fresh.generate_images(masks, ['x'], [2],
                                                        steps=2))
    with pytest.raises(ValueError, match='trained with share_conditioning; '
                       'set share_conditioning=dict()'):
        make(data).load_export(export)
    plain_export = make(data).export(str(tmp_path / 'plain'))
    with pytest.raises(ValueError, match='trained without '
                       'share_conditioning'):
        make(data, share_conditioning=dict()).load_export(plain_export)
    # a ControlNet folder to start from: its embedding is kept, and a
    # folder without one gets a fresh zero-initialised embedding
    started = make(data, controlnet=export, share_conditioning=dict())
    assert torch.equal(started.controlnet.class_embedding.linear_2.weight,
                       model.controlnet.class_embedding.linear_2.weight)
    grown = make(data, controlnet=plain_export, share_conditioning=dict())
    assert not grown.controlnet.class_embedding.linear_2.weight.any()
    two = dict(type='BaseSegDataset', metainfo=dict(
        classes=('background', 'building'),
        palette=[[0, 0, 0], [255, 255, 255]]))
    with pytest.raises(ValueError, match='share embedding for 6 classes, '
                       'this model has 2'):
        make(data, controlnet=export, share_conditioning=dict(),
             source_dataset=two)
    with pytest.raises(ValueError, match='share_conditioning=dict()'):
        make(data, controlnet=export)


def test_an_export_runs_in_a_stock_pipeline_with_the_documented_step(
        data, tmp_path):  # noqa: F811
    from diffusers import (ControlNetModel, DDIMScheduler,
                           StableDiffusionControlNetPipeline)

    from dldm_mmseg.models.generators.share_conditioning import \
        unet_share_labels
    model = make(data, share_conditioning=dict())
    with torch.no_grad():
        model.controlnet.class_embedding.linear_2.weight.normal_(0, 1.0)
    export = model.export(str(tmp_path / 'cn'))
    controlnet = ControlNetModel.from_pretrained(export)
    assert torch.equal(residuals(model, SHARES),
                       residuals(model, SHARES, controlnet=controlnet))
    pipe = StableDiffusionControlNetPipeline(
        vae=model.vae, text_encoder=model.text_encoder,
        tokenizer=model.tokenizer, unet=model.unet,
        scheduler=DDIMScheduler.from_config(model.noise_scheduler.config),
        controlnet=controlnet,
        safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)
    mask = torch.from_numpy(index_to_rgb(np.zeros((32, 32), np.uint8),
                                         model.palette)).permute(2, 0, 1)
    run = dict(prompt='x', image=mask[None].float() / 255, height=32,
               width=32, num_inference_steps=2, output_type='np')
    with pytest.raises(ValueError, match='class_labels'):
        pipe(**run)
    with unet_share_labels(pipe.controlnet, share_inputs(
            torch.tensor([[1.0, 0, 0, 0, 0, 0]]))) as aim:
        aim(slice(0, 1))
        image = pipe(**run).images
    assert image.shape == (1, 32, 32, 3) and np.isfinite(image).all()
