"""Stage 2 conditioned on one channel per class (``condition='onehot'``):
the ControlNet reads classes, not colours, trains on the batch's label maps,
and its exports say which condition they take."""
import numpy as np
import pytest
import torch

from test_generators import IMAGE_CFG, batch_of, build, data  # noqa: F401


def test_onehot_condition_has_a_channel_per_class_and_ignore(
        data):  # noqa: F811
    model, _ = build(IMAGE_CFG, data, condition='onehot')
    assert model.controlnet.config.conditioning_channels == 7  # 6 + ignore
    labels = np.array([[[0, 5], [255, 2]]])
    condition = model.condition_images(labels)
    assert condition.shape == (1, 7, 2, 2)
    assert torch.equal(condition.sum(1), torch.ones(1, 2, 2))
    assert condition[0, :, 0, 0].argmax() == 0
    assert condition[0, :, 0, 1].argmax() == 5
    assert condition[0, :, 1, 0].argmax() == 6  # ignore: the last channel
    with pytest.raises(ValueError, match='class indices'):
        model.condition_images(np.zeros((1, 2, 2, 3), np.uint8))
    rgb, _ = build(IMAGE_CFG, data)
    assert rgb.condition_images(labels).shape == (1, 3, 2, 2)
    with pytest.raises(ValueError, match="condition must be one of"):
        build(IMAGE_CFG, data, condition='palette')


def test_onehot_condition_trains_on_the_label_maps(data):  # noqa: F811
    batch = batch_of(data, load_image=True, n=2)
    model, _ = build(IMAGE_CFG, data, condition='onehot',
                     zero_convolutions=False)
    seen = []
    embedding = model.controlnet.controlnet_cond_embedding
    handle = embedding.register_forward_hook(
        lambda module, inputs, output: seen.append(inputs[0]))
    losses = model.loss(batch['image'], batch['mask'], batch['prompt'],
                        label=batch['label'])
    handle.remove()
    assert torch.equal(seen[0], model.condition_images(
        batch['label'].numpy()))
    losses['loss_diffusion'].backward()
    assert embedding.conv_in.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='label maps'):
        model.loss(batch['image'], batch['mask'], batch['prompt'])
    # two label maps give two different residuals from the first step
    with torch.no_grad():
        text = model.encode_prompt([''])
        out = []
        for i in range(2):
            down, mid = model.controlnet(
                torch.zeros(1, 4, 8, 8), torch.tensor([10]),
                encoder_hidden_states=text,
                controlnet_cond=model.condition_images(
                    batch['label'][i:i + 1].numpy()), return_dict=False)
            out.append(torch.cat([r.flatten() for r in down] +
                                 [mid.flatten()]))
    assert not torch.allclose(out[0], out[1])


def test_exports_record_the_condition_and_refuse_the_other(
        data, tmp_path):  # noqa: F811
    model, _ = build(IMAGE_CFG, data, condition='onehot',
                     zero_convolutions=False)
    masks = np.random.default_rng(0).integers(0, 6, (1, 32, 32))
    images = model.generate_images(masks, ['x'], [2], steps=2)
    export = model.export(str(tmp_path / 'cn'))
    fresh, _ = build(IMAGE_CFG, data, condition='onehot')
    fresh.load_export(export)
    assert np.array_equal(images, fresh.generate_images(masks, ['x'], [2],
                                                        steps=2))
    rgb, _ = build(IMAGE_CFG, data)
    with pytest.raises(ValueError, match="takes 7-channel conditions, this "
                       "config's condition='rgb' gives 3"):
        rgb.load_export(export)
    with pytest.raises(ValueError, match='7-channel'):
        build(IMAGE_CFG, data, controlnet=export)


def test_two_class_one_hot_is_refused_as_indistinguishable_from_rgb(
        data):  # noqa: F811
    """Two classes + ignore are 3 channels, as RGB: a folder could not say
    which it holds, so one-hot is refused for them, naming why."""
    from dldm_mmseg.models.vae_autoencoder import VAEAutoencoder
    from fixtures import load_tool
    two = dict(type='BaseSegDataset', metainfo=dict(
        classes=('background', 'building'),
        palette=[[0, 0, 0], [255, 255, 255]]))
    with pytest.raises(ValueError, match='2 classes have 3 channels'):
        build(IMAGE_CFG, data, condition='onehot', source_dataset=two)
    with pytest.raises(ValueError, match='2 classes have 3 channels'):
        VAEAutoencoder(source_dataset=two, preset='tiny', content='masks',
                       mask_encoding='onehot')
    with pytest.raises(SystemExit):
        load_tool('demo').parse_args(['--dataset', 'spacenet_atlanta',
                                      '--onehot-masks'])
