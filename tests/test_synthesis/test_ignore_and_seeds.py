"""Synthesis keeps ignore pixels ignore, and gives each stage its own seeds."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from mmseg.registry import MODELS
from dldm_mmseg.datasets.captioning import write_captions
from dldm_mmseg.datasets.synth_layout import image_seed
from dldm_mmseg.synthesis.engine import SynthesisEngine
from dldm_mmseg.utils.label_stats import remove_isolated_pixels
from dldm_mmseg.utils.palette import ignore_colour
from fixtures import POTSDAM_CLASSES, POTSDAM_PALETTE, make_seg_dataset


@pytest.fixture(scope='module')
def real(tmp_path_factory):
    root = make_seg_dataset(str(tmp_path_factory.mktemp('real')),
                            num_train=4, num_val=0, size=32)
    write_captions(root, POTSDAM_CLASSES, True, 'img_dir/train',
                   'ann_dir/train')
    return root


def tiny_models():
    mask = MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=4,
                             source_dataset='PotsdamDataset',
                             components=dict(preset='tiny')))
    image = MODELS.build(dict(type='ControlNetImageGenerator',
                              source_dataset='PotsdamDataset',
                              components=dict(preset='tiny')))
    return mask, image


def test_ignore_pixels_stay_ignore_and_image_seeds_are_their_own(
        real, tmp_path, monkeypatch):
    mask_model, image_model = tiny_models()
    calls = dict(mask_seeds=[], image_seeds=[], conditions=[])

    def fake_masks(prompts, seeds, **kwargs):
        calls['mask_seeds'] += list(seeds)
        labels = np.zeros((len(prompts), 32, 32), np.uint8)
        labels[:, :, 16:] = 4          # half car
        labels[:, 10:12, :] = 255      # a boundary line drawn in black
        return dict(labels=labels, rgb=None, prompts=np.asarray(prompts))

    real_generate_images = image_model.generate_images

    def spy_images(masks, prompts, seeds, **kwargs):
        calls['image_seeds'] += list(seeds)
        calls['conditions'].append(image_model.condition_images(masks))
        return real_generate_images(masks, prompts, seeds, **kwargs)

    monkeypatch.setattr(mask_model, 'generate_masks', fake_masks)
    monkeypatch.setattr(image_model, 'generate_images', spy_images)
    cfg = dict(source_dataset='PotsdamDataset', real_captions=dict(
        data_root=real), size=32, base_seed=3, batch_size=2,
        image_sampling=dict(steps=1), cleanup_min_neighbours=2)
    engine = SynthesisEngine(cfg, device='cpu', mask_model=mask_model,
                             image_model=image_model)
    out = str(tmp_path / 'syn')
    engine.run(3, out, progress=False)

    ann = np.asarray(Image.open(osp.join(out, 'ann_dir/train/000000.png')))
    # reduce_zero_label encoding: ignore is written as 0, car (4) as 5
    assert (ann[10:12] == 0).all()
    assert set(np.unique(ann[:10])) == {1, 5}
    with open(osp.join(out, 'records', '000001.json')) as f:
        record = json.load(f)
    # shares are measured over the valid pixels only: half car, half
    # impervious surface, nothing counted for the line
    assert record['measured_shares']['car'] == pytest.approx(0.5)
    assert record['measured_shares']['impervious_surface'] == \
        pytest.approx(0.5)
    # the ControlNet is conditioned on the reserved ignore colour (black
    # for Potsdam), as MaskCaptionDataset renders ignore for training
    condition = calls['conditions'][0][0]
    black = torch.tensor(ignore_colour(POTSDAM_PALETTE)) / 255.0
    assert torch.equal(condition[:, 10, 0], black)
    assert torch.equal(condition[:, 0, 20], torch.tensor([1.0, 1.0, 0.0]))
    # mask and image noise come from separate seed streams
    # (aligned batches of 2: the last chunk, samples 2 and 3, is computed
    # whole, so sample 3 is drawn too though only 0..2 are written)
    assert calls['mask_seeds'] == [3, 4, 5, 6]
    assert calls['image_seeds'] == [image_seed(3, i) for i in range(4)]
    assert not set(calls['image_seeds']) & set(calls['mask_seeds'])
    assert record['image_seed'] == image_seed(3, 1)
    assert record['mask_seed'] == record['seed'] == 4


def test_image_seed_stream_is_distinct_and_stable():
    seeds = [image_seed(0, i) for i in range(1000)]
    assert len(set(seeds)) == 1000
    assert all(0 <= s < 2 ** 31 for s in seeds)
    assert not set(seeds) & set(range(1000))  # the mask seeds 0..999
    assert image_seed(0, 7) == image_seed(0, 7) != image_seed(1, 7)


def test_cleanup_handles_ignore_as_a_value_of_its_own():
    labels = np.full((6, 6), 2, np.uint8)
    labels[:, 3:] = 255
    labels[1, 1] = 255  # isolated ignore pixel inside class 2
    labels[4, 4] = 0    # isolated class pixel inside the ignore region
    out = remove_isolated_pixels(labels, 2)
    assert out[1, 1] == 2 and out[4, 4] == 255
    assert (out[:, 3:] == 255).all() and (out[:, :3] == 2).all()


def test_cleanup_removes_lone_pixels_on_the_border_as_inside():
    labels = np.zeros((6, 6), np.uint8)
    for y, x in ((0, 0), (2, 2), (0, 3), (5, 5)):
        labels[y, x] = 1  # alone: no class-1 neighbour
    out = remove_isolated_pixels(labels, 2)
    assert (out == 0).all()
    # a uniform corner keeps its pixels: 3 same-class neighbours >= 2
    labels[4:, 4:] = 1
    out = remove_isolated_pixels(labels, 2)
    assert (out[4:, 4:] == 1).all() and out.sum() == 4
    # a border pixel with one same-class neighbour inside goes at k = 2
    labels = np.zeros((6, 6), np.uint8)
    labels[0, 2:4] = 1
    assert (remove_isolated_pixels(labels, 2) == 0).all()
