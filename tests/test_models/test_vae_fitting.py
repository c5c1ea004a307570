"""The VAE fitting behind tools/fit_vae.py: its loss helpers, and the fit
as an mmengine run."""
import pytest
import torch

from dldm_mmseg.models import vae_fitting as fit
from dldm_mmseg.models.vae_autoencoder import content_pixels
from dldm_mmseg.utils.class_weights import class_balanced_weights


def test_class_balanced_weights_favour_rare_classes_and_average_one():
    labels = torch.zeros(2, 10, 10, dtype=torch.long)
    labels[0, :1, :1] = 4  # 1 pixel of a rare class out of 200
    labels[1, :2] = 255  # ignore
    weights = class_balanced_weights(labels, 6, 0.5)
    valid = labels != 255
    assert weights[valid].mean().item() == pytest.approx(1.0)
    assert (weights[~valid] == 1).all()
    # freq ** -0.5: 1/179 vs 179/180 of the valid pixels
    ratio = weights[0, 0, 0] / weights[0, 5, 5]
    assert ratio.item() == pytest.approx(179 ** 0.5, rel=1e-4)
    assert (class_balanced_weights(labels, 6, 0) == 1).all()


def test_content_pixels_picks_masks_images_or_both():
    batch = dict(mask=torch.zeros(2, 3, 4, 4), image=torch.ones(2, 3, 4, 4))
    assert torch.equal(content_pixels(batch, 'masks'), batch['mask'])
    assert torch.equal(content_pixels(batch, 'images'), batch['image'])
    both = content_pixels(batch, 'both')
    assert torch.equal(both, torch.cat([batch['mask'], batch['image']]))


def test_demo_vae_config_is_the_run_the_demo_makes():
    """configs/demo/vae_masks_small_toy.py (for tools/train.py) holds the
    run that the demo's VAE step makes through fit_vae."""
    import os.path as osp

    from mmengine.config import Config

    from dldm_mmseg.experiments.demo.settings import SETTINGS
    ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    settings = SETTINGS[False]
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo',
                                   'vae_masks_small_toy.py'))
    made = fit.vae_fit_config(
        cfg.data_root, 'out', 'small', 'PotsdamDataset',
        iters=settings['vae_iters']['masks'], batch_size=16,
        kl_weight=1e-4, seed=0, log_interval=50,
        crop_size=settings['vae_crop'], content='masks')
    for key in ('model', 'train_dataloader', 'train_cfg', 'optim_wrapper',
                'default_hooks', 'randomness'):
        assert cfg[key] == made[key], key
    assert [h['type'] for h in cfg.custom_hooks] == ['VAEExportHook']


def test_fit_is_a_runner_run_that_resumes(tmp_path):
    from dldm_mmseg.datasets.captioning import write_captions
    from fixtures import POTSDAM_CLASSES, make_seg_dataset
    data = make_seg_dataset(str(tmp_path / 'd'), num_train=4, size=16)
    write_captions(data, POTSDAM_CLASSES, True, 'img_dir/train',
                   'ann_dir/train')
    out, work = str(tmp_path / 'vae'), str(tmp_path / 'work')
    args = dict(preset='tiny', source_dataset='PotsdamDataset',
                batch_size=2, content='masks', work_dir=work, crop_size=8)
    first = fit.fit_vae(data, out, iters=3, **args)
    assert first['steps'] == 3 and first['first'] is not None
    assert (tmp_path / 'work' / 'iter_3.pth').is_file()
    assert (tmp_path / 'vae' / 'config.json').is_file()
    # the fit ends with the round-trip floor on the held-out (val) masks
    import json
    trip = first['round_trip']
    assert trip['split'] == 'val' and trip['nearest']['masks'] == 2
    assert 0 <= trip['nearest']['pixel_accuracy'] <= 100
    assert 'CPE.car' in trip['neighbourhood']
    assert trip['text'].startswith('round trip of 2 val masks')
    assert trip['blend_conflicts'] == []  # Potsdam's palette has none
    with open(tmp_path / 'work' / 'round_trip.json') as f:
        assert json.load(f)['nearest'] == pytest.approx(trip['nearest'])
    more = fit.fit_vae(data, out, iters=5, resume=True, **args)
    assert more['steps'] == 5  # two more steps, from the checkpoint
    with pytest.raises(ValueError, match='crop_size 17 is larger than the '
                       'scenes'):
        fit.fit_vae(data, out, iters=1, **dict(args, crop_size=17))


def test_one_hot_mask_vae_round_trip_and_which_generator_takes_it(tmp_path):
    from mmseg.registry import MODELS

    from dldm_mmseg.datasets.captioning import write_captions
    from fixtures import POTSDAM_CLASSES, make_seg_dataset
    data = make_seg_dataset(str(tmp_path / 'd'), num_train=4, size=16)
    write_captions(data, POTSDAM_CLASSES, True, 'img_dir/train',
                   'ann_dir/train')
    out = str(tmp_path / 'vae')
    result = fit.fit_vae(data, out, preset='tiny', iters=2, batch_size=2,
                         source_dataset='PotsdamDataset', content='masks',
                         mask_encoding='onehot',
                         work_dir=str(tmp_path / 'work'))
    trip = result['round_trip']
    assert trip['encoding'] == 'onehot' and set(trip) >= {'argmax', 'text'}
    assert 'nearest' not in trip and trip['blend_conflicts'] == []
    assert 0 <= result['mask_pixel_accuracy'] <= 1
    import json
    with open(tmp_path / 'vae' / 'config.json') as f:
        config = json.load(f)
    assert config['in_channels'] == config['out_channels'] == 7
    # stage 1 draws one-hot masks with it; stage 2 paints from RGB
    mask_model = MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=4,
                                   source_dataset='PotsdamDataset',
                                   components=dict(preset='tiny', vae=out)))
    assert mask_model.pixel_encoding == 'onehot'
    with pytest.raises(ValueError, match=r"7-channel \(one-hot\) masks.*"
                       'RGB VAE'):
        MODELS.build(dict(type='ControlNetImageGenerator',
                          source_dataset='PotsdamDataset',
                          components=dict(preset='tiny', vae=out)))
    with pytest.raises(ValueError, match="mask_encoding must be one of"):
        MODELS.build(dict(type='VAEAutoencoder', preset='tiny',
                          source_dataset='PotsdamDataset', content='masks',
                          mask_encoding='palette'))
    with pytest.raises(ValueError, match="masks only; got content='both'"):
        fit.fit_vae(data, out, preset='tiny', iters=1,
                    source_dataset='PotsdamDataset', content='both',
                    mask_encoding='onehot')
