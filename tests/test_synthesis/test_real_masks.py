"""``synthesis.masks='real'``: stage 2 paints new images for the masks of
the real patches the share sampler draws (no stage 1)."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from dldm_mmseg.synthesis.engine import SynthesisEngine
from dldm_mmseg.synthesis.share_sampler import TargetShareSampler
from fixtures import POTSDAM_CLASSES, load_tool
from test_synthesis_engine import (files_of, real_set_and_generators,
                                   synth_cfg)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    # three patches, so six samples draw some patch twice
    return real_set_and_generators(tmp_path_factory.mktemp('real_masks'), 3)


def real_cfg(setup, **overrides):
    cfg = synth_cfg(setup, **dict(dict(masks='real'), **overrides))
    del cfg['mask_generator']  # not needed, not loaded
    return cfg


def records_of(out):
    return [json.loads(line) for line in
            open(osp.join(out, 'manifest.jsonl'))]


def test_real_masks_are_the_drawn_patches_painted_anew(setup, tmp_path):
    real, _ = setup
    out = str(tmp_path / 'syn')
    engine = SynthesisEngine(real_cfg(setup), device='cpu')
    assert engine.mask_model is None
    engine.run(6, out, progress=False)
    sampler = TargetShareSampler.from_captions(
        POTSDAM_CLASSES, osp.join(real, 'captions.jsonl'),
        rarity_exponent=0.5, seed=5)
    files = files_of(out)
    by_patch = {}
    for i, record in enumerate(records_of(out)):
        drawn = sampler.patches[sampler(i)['patch']]
        assert record['real_mask'] == drawn['id']
        # the written mask is the real label map, byte for byte
        stored = np.asarray(Image.open(osp.join(real,
                                                drawn['seg_map_path'])))
        assert np.array_equal(files[f'ann_dir/train/{record["id"]}.png'],
                              stored)
        assert record['cpe'] < 1  # its shares are the patch's own
        assert record['image_prompt'].startswith(drawn['caption'].rstrip(
            '.'))
        assert record['generator_weights']['mask_generator'] == 'not used'
        by_patch.setdefault(drawn['id'], []).append(record['id'])
    # six samples of three patches: a patch drawn twice gets two images
    twice = [ids for ids in by_patch.values() if len(ids) > 1]
    assert twice
    a, b = twice[0][:2]
    assert not np.array_equal(files[f'img_dir/train/{a}.png'],
                              files[f'img_dir/train/{b}.png'])


def test_a_changed_real_mask_is_another_set(setup, tmp_path):
    copy, records = copied_real_set(setup, tmp_path)
    out = str(tmp_path / 'syn')
    cfg = real_cfg(setup, real_captions=dict(data_root=copy))
    SynthesisEngine(cfg, device='cpu').run(1, out, progress=False)
    path = osp.join(copy, records[0]['seg_map_path'])
    label = np.asarray(Image.open(path)).copy()
    label[0, 0] = 1 if label[0, 0] != 1 else 2
    Image.fromarray(label).save(path)
    with pytest.raises(ValueError, match=r'another configuration '
                       r'\(real_masks differ'):
        SynthesisEngine(cfg, device='cpu').run(2, out, progress=False)


@pytest.mark.parametrize('overrides, message', [
    (dict(masks='drawn'), r"synthesis.masks must be one of \('generated', "
     r"'real'\), got 'drawn'"),
    (dict(shares=dict(mode='real', user_shares=dict(car=0.05))),
     r'shares.user_shares cannot be met: drop shares.user_shares'),
    (dict(shares=dict(mode='fixed', fixed_shares=[1] * 6)),
     r"set shares.mode='real'.*got shares.mode='fixed'"),
    (dict(real_captions=None), r'real_captions=dict\(data_root=...\)'),
])
def test_bad_real_mask_settings(setup, overrides, message):
    with pytest.raises(ValueError, match=message):
        SynthesisEngine(real_cfg(setup, **overrides), device='cpu')


def test_patches_of_another_size_are_refused_before_anything_is_written(
        setup, tmp_path):
    out = str(tmp_path / 'syn')
    with pytest.raises(ValueError, match=r'ann_dir/train/train_00\d\.png is '
                       r'32 x 32 pixels.*synthesis.size = 16'):
        SynthesisEngine(real_cfg(setup, size=16), device='cpu')
    assert not osp.exists(out)
    # the fix the message names works in the same folder
    SynthesisEngine(real_cfg(setup), device='cpu').run(1, out,
                                                       progress=False)


def copied_real_set(setup, tmp_path):
    real, _ = setup
    copy = str(tmp_path / 'real')
    shutil.copytree(real, copy)
    records = [json.loads(line) for line in
               open(osp.join(copy, 'captions.jsonl'))]
    return copy, records


def test_stale_captions_and_missing_masks_are_named(setup, tmp_path):
    copy, records = copied_real_set(setup, tmp_path)
    cfg = real_cfg(setup, real_captions=dict(data_root=copy))
    for record in records:  # every mask now all background
        path = osp.join(copy, record['seg_map_path'])
        Image.fromarray(np.ones((32, 32), np.uint8)).save(path)
    engine = SynthesisEngine(cfg, device='cpu')
    with pytest.raises(ValueError, match=r'train_00\d\.png holds '
                       r"impervious surface: 100%, its caption says .*"
                       r'tools/caption.py --overwrite'):
        engine.run(1, str(tmp_path / 'syn'), progress=False)
    os.remove(osp.join(copy, records[1]['seg_map_path']))
    with pytest.raises(ValueError, match=r'captions.jsonl:2 names the label '
                       r'map .*train_001.png, which does not exist'):
        SynthesisEngine(cfg, device='cpu')


def test_stage_1_weights_are_not_needed(setup, tmp_path):
    cfg = real_cfg(setup)
    cfg['mask_generator'] = dict(config='no_such_config.py',
                                 weights=str(tmp_path / 'never_trained'))
    out = str(tmp_path / 'syn')
    SynthesisEngine(cfg, device='cpu').run(1, out, progress=False)
    assert records_of(out)[0]['generator_weights'][
        'mask_generator'] == 'not used'


def test_tool_takes_masks_real(setup, tmp_path):
    config = tmp_path / 'synth.py'
    config.write_text(f'synthesis = {synth_cfg(setup)!r}\n')
    out = str(tmp_path / 'syn')
    load_tool('synthesize').main([str(config), '--num', '2', '--out', out,
                                  '--masks', 'real'])
    assert all('real_mask' in r for r in records_of(out))


def test_analysis_shows_each_masks_real_image(setup, tmp_path):
    from dldm_mmseg.experiments.analysis import real_rows, sample_grid
    real, _ = setup
    out = str(tmp_path / 'syn')
    SynthesisEngine(real_cfg(setup), device='cpu').run(3, out,
                                                       progress=False)
    records = {r['id']: r for r in records_of(out)}
    ids = sorted(records)
    paths = {r['id']: osp.join(real, r['img_path']) for r in
             map(json.loads, open(osp.join(real, 'captions.jsonl')))}
    assert real_rows(records, ids, paths) == [
        paths[records[i]['real_mask']] for i in ids]
    generated = {i: {k: v for k, v in r.items() if k != 'real_mask'}
                 for i, r in records.items()}
    assert real_rows(generated, ids, paths) == []
    assert real_rows(records, ids, {}) == []  # no real set given
    with pytest.raises(KeyError, match='not in the real set.*--real'):
        real_rows(records, ids, dict(other='x.png'))
    heights = []
    for images in (None, paths):
        grid = sample_grid(out, ids, [[0, 0, 0]] * 6,
                           str(tmp_path / f'grid{len(heights)}.png'),
                           real_images=images)
        heights.append(Image.open(grid).size[1])
    assert heights[1] > heights[0] * 1.3  # a third row of images
    summary = load_tool('analyze').main([out, '--real', real, '--grid',
                                         '3'])
    assert summary['num_synthetic'] == 3
