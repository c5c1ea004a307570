"""A new dataset with config files only: captions, VAE fit, stage 1,
stage 2, synthesis, analysis and segmentation, for 3 and 9 classes, with
no Python written by the user (tiny models, 32 px scenes)."""
import glob
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from fixtures import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs')
SIZE = 32


def make_dataset(root, classes, palette, num_train=4, num_val=2, seed=0):
    """Blocks of random classes (1..K, 0 = ignore lines) and images whose
    colour follows the class, in the mmseg layout."""
    rng = np.random.default_rng(seed)
    for split, num in (('train', num_train), ('val', num_val)):
        for sub in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(root, sub, split), exist_ok=True)
        for i in range(num):
            blocks = rng.integers(1, len(classes) + 1, (4, 4))
            label = np.kron(blocks, np.ones((SIZE // 4, SIZE // 4), int))
            label[::8] = 0
            colours = np.asarray([[0, 0, 0]] + palette, np.uint8)
            image = np.clip(colours[label] * 0.7 + rng.integers(
                0, 60, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(image).save(
                osp.join(root, 'img_dir', split, f'{i:03d}.png'))
            Image.fromarray(label.astype(np.uint8)).save(
                osp.join(root, 'ann_dir', split, f'{i:03d}.png'))


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def user_configs(folder, data, classes, palette):
    """What a user writes: a dataset file, and leaves inheriting the
    project's configs."""
    source = dict(type='BaseSegDataset', reduce_zero_label=True,
                  metainfo=dict(classes=tuple(classes), palette=palette))
    write(folder / 'my_data.py', f'source_dataset = {source!r}\n')
    tiny = "dict(_delete_=True, preset='tiny')"
    generator = f"""
source_dataset = {{{{_base_.source_dataset}}}}
model = dict(components={tiny}, source_dataset=source_dataset,
             frozen_dtype=None, gradient_checkpointing=False,
             inference_cfg=dict(steps=2))
train_dataloader = dict(batch_size=2, num_workers=0,
                        persistent_workers=False,
                        dataset=dict(data_root={data!r},
                                     source_dataset=source_dataset))
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-4))
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
custom_hooks = [dict(type='GeneratorExportHook')]
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
"""
    mask = write(folder / 'mask.py', f"""
_base_ = [{osp.join(CONFIGS, 'generators', 'mask_lora_potsdam.py')!r},
          './my_data.py']
{generator}
model.update(lora_rank=4)
val_dataloader = dict(batch_size=2, num_workers=0, dataset=dict(
    data_root={data!r}, source_dataset=source_dataset, subset=None))
test_dataloader = val_dataloader
""")
    image = write(folder / 'image.py', f"""
_base_ = [{osp.join(CONFIGS, 'generators', 'image_controlnet_potsdam.py')!r},
          './my_data.py']
{generator}
""")
    synth = write(folder / 'synth.py', f"""
_base_ = [{osp.join(CONFIGS, 'synth', 'potsdam.py')!r}, './my_data.py']
out_dir = {str(folder / 'syn')!r}
synthesis = dict(
    source_dataset={{{{_base_.source_dataset}}}},
    mask_generator=dict(config={mask!r},
                        weights={str(folder / 'w1' / 'export' / 'final')!r}),
    image_generator=dict(config={image!r},
                         weights={str(folder / 'w2' / 'export' /
                                      'final')!r}),
    real_captions=dict(data_root={data!r}),
    shares=dict(_delete_=True, mode='real', rarity_exponent=0.5),
    size={SIZE}, batch_size=2,
    mask_sampling=dict(steps=2, guidance_scale=2.0),
    image_sampling=dict(steps=2, guidance_scale=2.0))
""")
    seg = write(folder / 'seg.py', f"""
_base_ = [{osp.join(CONFIGS, 'demo', 'deeplabv3plus_toy_syn40.py')!r},
          './my_data.py']
source_dataset = {{{{_base_.source_dataset}}}}
real = dict(type='BaseSegDataset', data_root={data!r},
            metainfo={{{{_base_.source_dataset.metainfo}}}},
            reduce_zero_label=True, img_suffix='.png',
            data_prefix=dict(img_path='img_dir/train',
                             seg_map_path='ann_dir/train'),
            pipeline={{{{_base_.train_pipeline}}}})
model = dict(decode_head=dict(num_classes={len(classes)}),
             auxiliary_head=dict(num_classes={len(classes)}),
             data_preprocessor=dict(size=({SIZE}, {SIZE})))
train_dataloader = dict(batch_size=2, dataset=dict(datasets=[
    real, dict(type='DiffusionSynthDataset', data_root={str(folder / 'syn')!r},
               source_dataset=source_dataset,
               pipeline={{{{_base_.train_pipeline}}}})]))
val_dataloader = dict(batch_size=2, dataset=dict(
    _delete_=True, type='BaseSegDataset', data_root={data!r},
    metainfo={{{{_base_.source_dataset.metainfo}}}},
    reduce_zero_label=True, img_suffix='.png',
    data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
    pipeline={{{{_base_.test_pipeline}}}}))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2))
custom_hooks = []
""")
    return dict(data=str(folder / 'my_data.py'), mask=mask, image=image,
                synth=synth, seg=seg)


@pytest.mark.parametrize('num_classes', [3, 9])
def test_config_only_dataset_runs_the_whole_pipeline(tmp_path, num_classes):
    classes = [f'class_{k}' for k in range(num_classes)]
    palette = [[(37 * k) % 256, (91 * k + 60) % 256, (151 * k + 120) % 256]
               for k in range(num_classes)]
    data = str(tmp_path / 'data')
    make_dataset(data, classes, palette)
    cfg = user_configs(tmp_path, data, classes, palette)

    caption = load_tool('caption')
    caption.main([data, '--config', cfg['data']])
    caption.main([data, '--config', cfg['data'], '--split', 'val', '--out',
                  'captions_val.jsonl'])
    record = json.loads(open(osp.join(data, 'captions.jsonl')).readline())
    assert list(record['shares']) == classes

    load_tool('fit_vae').main([data, '--config', cfg['data'], '--out',
                               str(tmp_path / 'vae'), '--preset', 'tiny',
                               '--iters', '1', '--batch-size', '2',
                               '--content', 'masks'])
    assert osp.isfile(str(tmp_path / 'vae' / 'config.json'))

    train = load_tool('train')
    train.main([cfg['mask'], '--work-dir', str(tmp_path / 'w1')])
    # stage 1 is validated by mCPE on this dataset's classes
    log, = glob.glob(str(tmp_path / 'w1' / '*' / '*.log'))
    assert f'CPE.{classes[-1]}: ' in open(log).read()
    train.main([cfg['image'], '--work-dir', str(tmp_path / 'w2')])

    result = load_tool('synthesize').main([cfg['synth'], '--num', '2'])
    assert result['complete']
    syn = str(tmp_path / 'syn')
    manifest = [json.loads(line) for line in
                open(osp.join(syn, 'manifest.jsonl'))]
    assert [list(r['target_shares']) for r in manifest] == [classes] * 2
    labels = np.asarray(Image.open(osp.join(syn, 'ann_dir', 'train',
                                            '000000.png')))
    assert labels.max() <= num_classes  # 0 = ignore, 1..K

    summary = load_tool('analyze').main([syn, '--real', data, '--config',
                                         cfg['data']])
    assert summary['num_synthetic'] == 2
    assert set(summary['mean_share_real']) == set(classes)

    runner = train.main([cfg['seg'], '--work-dir', str(tmp_path / 'seg')])
    assert runner.iter == 2
    assert len(runner.train_dataloader.dataset.datasets[1]) == 2
