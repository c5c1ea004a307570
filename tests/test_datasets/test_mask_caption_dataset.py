import os
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from mmseg.registry import DATASETS
from dldm_mmseg.datasets.captioning import write_captions
from dldm_mmseg.utils.palette import nearest_palette_index
from dldm_mmseg.utils.prompts import parse_class_shares
from fixtures import POTSDAM_CLASSES, POTSDAM_PALETTE, make_seg_dataset


@pytest.fixture
def root(tmp_path):
    root = make_seg_dataset(str(tmp_path / 'd'), num_train=3, size=32)
    write_captions(root, POTSDAM_CLASSES, True, 'img_dir/train',
                   'ann_dir/train')
    return root


def build(root, **kwargs):
    return DATASETS.build(dict(dict(type='MaskCaptionDataset', data_root=root,
                                    source_dataset='PotsdamDataset'),
                               **kwargs))


def test_mask_label_image_agree_under_augmentation(root):
    ds = build(root, load_image=True, crop_size=(16, 16))
    np.random.seed(0)
    for i in range(len(ds)):
        s = ds[i]
        rgb = ((s['mask'].permute(1, 2, 0) + 1) * 127.5).round().byte()
        valid = s['label'] != 255
        colours = nearest_palette_index(rgb.numpy(), POTSDAM_PALETTE)
        assert np.array_equal(colours[valid.numpy()],
                              s['label'][valid].numpy())
        assert (rgb[~valid] == 0).all()  # ignored pixels are black
        assert s['image'].shape == (3, 16, 16)
        assert s['image'].min() >= -1 and s['image'].max() <= 1
        # the prompt states the shares of the crop the model sees
        shares = parse_class_shares(s['prompt'].split('. ')[0],
                                    POTSDAM_CLASSES)
        assert torch.allclose(s['target_shares'].double(),
                              torch.from_numpy(shares))
        crop = s['label'][valid]
        counts = torch.bincount(crop, minlength=6).double() / crop.numel()
        assert (counts - s['target_shares'].double()).abs().max() <= 0.01


def test_prompt_order_and_dropout(root):
    ds = build(root, prompt_order='caption+shares')
    prompt = ds[0]['prompt']
    assert prompt.startswith('An aerial image') and '%' in prompt
    assert '..' not in prompt
    assert build(root, prompt_dropout=1.0)[0]['prompt'] == ''
    assert '%' in build(root, caption_dropout=1.0,
                        prompt_order='caption+shares')[0]['prompt']
    with pytest.raises(ValueError, match='prompt_order'):
        build(root, prompt_order='shares,caption')


def test_patch_without_caption_is_named(root):
    label = np.asarray(Image.open(osp.join(root, 'ann_dir', 'train',
                                           'train_000.png')))
    Image.fromarray(label).save(osp.join(root, 'ann_dir', 'train',
                                         'new_patch.png'))
    with pytest.raises(ValueError, match='new_patch.png.*tools/caption.py'):
        build(root)
    assert len(build(root, allow_missing_captions=True)) == 3


def test_label_outside_classes(root):
    path = osp.join(root, 'ann_dir', 'train', 'train_001.png')
    label = np.asarray(Image.open(path)).copy()
    label[3, 3] = 12
    Image.fromarray(label).save(path)
    ds = build(root, augment=False)
    with pytest.raises(ValueError, match='train_001.png has labels outside'):
        ds[1]


def test_missing_captions_file(tmp_path):
    root = make_seg_dataset(str(tmp_path / 'd'), num_train=1)
    with pytest.raises(FileNotFoundError, match='tools/caption.py'):
        build(root)


def test_default_pipeline_is_stock_transforms_plus_ours(root):
    ds = build(root, load_image=True, crop_size=(16, 16),
               prompt_order='caption+shares', prompt_dropout=0.05)
    names = [type(t).__name__ for t in ds.pipeline.transforms]
    assert names == ['LoadAnnotations', 'LoadImageFromFile',
                     'CheckPatchSize', 'RandomCrop', 'RandomFlip',
                     'RandomFlip', 'RandomQuarterTurn', 'PackGeneratorInputs']
    pack = ds.pipeline.transforms[-1]
    assert (pack.with_image, pack.prompt_order, pack.prompt_dropout) == (
        True, 'caption+shares', 0.05)
    names = [type(t).__name__ for t in build(root, augment=False)
             .pipeline.transforms]
    assert names == ['LoadAnnotations', 'RenderPaletteMask',
                     'PackGeneratorInputs']


def test_default_pipeline_applies_one_symmetry_to_all(root):
    """Mask, label and image of an augmented sample are the unaugmented
    ones under one of the 8 symmetries of the square, the same for all."""
    plain = build(root, load_image=True, augment=False)[0]
    ds = build(root, load_image=True)
    np.random.seed(3)
    seen = set()
    for _ in range(40):
        s = ds[0]
        found = None
        for turns in range(4):
            for flip in (False, True):
                def move(x):
                    x = torch.rot90(x, turns, dims=(-2, -1))
                    return torch.flip(x, dims=(-1,)) if flip else x
                if torch.equal(move(plain['label']), s['label']):
                    found = (turns, flip)
                    assert torch.equal(move(plain['mask']), s['mask'])
                    assert torch.equal(move(plain['image']), s['image'])
        assert found is not None
        seen.add(found)
    assert len(seen) == 8
    # the image is packed as RGB, as read from the file
    rgb = np.asarray(Image.open(osp.join(root, 'img_dir', 'train',
                                         'train_000.png')).convert('RGB'))
    expected = torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)
    assert torch.equal(plain['image'], expected / 127.5 - 1)


def test_pipeline_argument_is_run_as_given(root):
    pipeline = [dict(type='LoadAnnotations'), dict(type='RenderPaletteMask'),
                dict(type='RandomCrop', crop_size=(8, 12)),
                dict(type='PackGeneratorInputs', prompt_order='shares')]
    ds = build(root, pipeline=pipeline)
    sample = ds[0]
    assert sample['label'].shape == (8, 12) and '.' not in sample['prompt']
    with pytest.raises(ValueError, match=r"pipeline and \['crop_size'\]"):
        build(root, pipeline=pipeline, crop_size=(16, 16))


def test_rgb_label_map_is_named(root):
    path = osp.join(root, 'ann_dir', 'train', 'train_002.png')
    label = np.asarray(Image.open(path))
    Image.fromarray(np.stack([label] * 3, -1)).save(path)
    with pytest.raises(ValueError,
                       match='train_002.png is not a single-channel'):
        build(root)[2]


def test_dataset_builds_under_any_default_scope(root):
    """Its transforms come from mmseg's registry even when the caller's
    default scope is not mmseg (a user script, another codebase)."""
    from mmengine.registry import DefaultScope

    from dldm_mmseg.datasets import MaskCaptionDataset
    with DefaultScope.overwrite_default_scope('mmengine'):
        sample = MaskCaptionDataset(root, source_dataset='PotsdamDataset',
                                    load_image=True, crop_size=(16, 16))[0]
    assert sample['image'].shape == (3, 16, 16)


def test_patch_size_problems_are_named(root):
    with pytest.raises(ValueError, match=r'crop_size \(40, 40\) is larger '
                       'than the 32x32 patch .*train_000.png'):
        build(root, crop_size=(40, 40))[0]
    path = osp.join(root, 'img_dir', 'train', 'train_001.png')
    Image.open(path).resize((24, 32)).save(path)
    with pytest.raises(ValueError, match='train_001.png and .*train_001.png '
                       'differ in size'):
        build(root, load_image=True, crop_size=(16, 16))[1]


def test_subset_spreads_over_the_tiles_patches_come_from():
    from dldm_mmseg.datasets.mask_caption_dataset import spread_over_tiles
    # 3 tiles of 40, 5 and 15 patches (ISPRS and prepare_raster ids)
    ids = [f'2_10_{i * 512}_0_{i * 512 + 512}_512' for i in range(40)] + \
        [f'3_11_{i}_0_{i + 1}_1' for i in range(5)] + \
        [f'atlanta_r{i * 64}_c0' for i in range(15)]
    data_list = [dict(sample_id=i) for i in ids]
    chosen = [d['sample_id'] for d in spread_over_tiles(data_list, 12)]
    assert len(chosen) == 12 and chosen == sorted(chosen)
    tiles = [i.split('_')[1] if i.startswith(('2_', '3_')) else 'atlanta'
             for i in chosen]
    assert sorted(tiles.count(t) for t in ('10', '11', 'atlanta')) == \
        [4, 4, 4]  # the first 12 sorted ids would all be tile 2_10
    # 5 patches of tile 3_11: all of them before a third of another tile's
    tiles = [d['sample_id'] for d in spread_over_tiles(data_list, 20)]
    assert sum(i.startswith('3_11') for i in tiles) == 5
    assert spread_over_tiles(data_list, 12, seed=1) != \
        spread_over_tiles(data_list, 12, seed=0)
    assert spread_over_tiles(data_list, 12) == \
        spread_over_tiles(data_list, 12)
    assert spread_over_tiles(data_list, 100) == data_list


def test_dataset_keeps_its_subset(root):
    assert len(build(root)) == 3
    ds = build(root, subset=dict(num=2, seed=0))
    assert len(ds) == 2 and len({ds[i]['sample_id'] for i in range(2)}) == 2
    with pytest.raises(ValueError, match='num >= 1'):
        build(root, subset=dict(num=0))


def test_unit_range_round_trip():
    from dldm_mmseg.datasets.transforms import from_unit_range, to_unit_range
    rgb = np.random.default_rng(0).integers(0, 256, (2, 5, 7, 3), np.uint8)
    pixels = torch.stack([to_unit_range(im) for im in rgb])
    assert pixels.shape == (2, 3, 5, 7) and pixels.min() >= -1
    assert np.array_equal(from_unit_range(pixels).numpy(), rgb)
    assert np.array_equal(from_unit_range(pixels[0]).numpy(), rgb[0])
    assert from_unit_range(torch.full((3, 1, 1), 2.0)).tolist() == \
        [[[255, 255, 255]]]  # clamped
