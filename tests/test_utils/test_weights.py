import os
import os.path as osp

import pytest
import torch

from dldm_mmseg.utils.weights import half_precision_copy


def test_half_precision_copy_keeps_layout_halves_size_and_loads_back(
        tmp_path):
    from diffusers import UNet2DConditionModel

    from dldm_mmseg.models.generators import build_sd_components
    unet = build_sd_components(preset='tiny').unet
    src, dst = str(tmp_path / 'export'), str(tmp_path / 'half')
    unet.save_pretrained(osp.join(src, 'unet'), safe_serialization=True)
    size = half_precision_copy(src, dst)
    weights = osp.join('unet', 'diffusion_pytorch_model.safetensors')
    assert sorted(os.listdir(osp.join(dst, 'unet'))) == sorted(
        os.listdir(osp.join(src, 'unet')))
    assert size < 0.6 * osp.getsize(osp.join(src, weights))
    loaded = UNet2DConditionModel.from_pretrained(
        osp.join(dst, 'unet'), torch_dtype=torch.float32)
    for (name, a), b in zip(unet.state_dict().items(),
                            loaded.state_dict().values()):
        assert b.dtype == torch.float32
        torch.testing.assert_close(b, a.half().float(), msg=name)
    # the components loader gives fp32 from an fp16 VAE folder
    vae = build_sd_components(preset='tiny').vae
    vae.save_pretrained(str(tmp_path / 'vae32'), safe_serialization=True)
    half_precision_copy(str(tmp_path / 'vae32'), str(tmp_path / 'vae16'))
    parts = build_sd_components(preset='tiny', vae=str(tmp_path / 'vae16'))
    assert parts.vae.dtype == torch.float32


def test_half_precision_copy_refuses_a_folder_without_weights(tmp_path):
    (tmp_path / 'config.json').write_text('{}')
    with pytest.raises(FileNotFoundError, match='no .safetensors'):
        half_precision_copy(str(tmp_path), str(tmp_path / 'out'))
    assert not (tmp_path / 'out').exists()
