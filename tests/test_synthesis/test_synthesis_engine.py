"""Stage 3 with tiny generators on CPU."""
import json
import os
import os.path as osp
import re

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from PIL import Image

from mmseg.registry import DATASETS
from dldm_mmseg.datasets.captioning import load_captions, write_captions
from dldm_mmseg.synthesis.share_sampler import TargetShareSampler
from dldm_mmseg.datasets.synth_layout import synthesis_status
from dldm_mmseg.synthesis.engine import SynthesisEngine
from dldm_mmseg.utils.hashing import cached_file_sha256
from dldm_mmseg.utils.io import read_jsonl
from dldm_mmseg.utils.label_stats import (class_shares,
                                          remove_isolated_pixels,
                                          to_train_ids)
from dldm_mmseg.utils.prompts import format_class_shares
from fixtures import (POTSDAM_CLASSES, free_port, load_tool,
                      make_reference_model, make_seg_dataset)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GEN = osp.join(ROOT, 'configs', 'generators')
IMG, ANN = 'img_dir/train', 'ann_dir/train'
TINY = dict(components=dict(_delete_=True, preset='tiny'), frozen_dtype=None)


def exported_generators(folder):
    """Tiny generators with random (non-trivial) trainable weights,
    exported like a finished training run."""
    from mmseg.registry import MODELS
    paths = {}
    # the mask generator with numeric share conditioning, as the default
    # stage-1 config (mask_lora_potsdam.py) trains it
    for name, cfg in (('mask', dict(type='LoRAMaskGenerator', lora_rank=4,
                                    share_conditioning=dict())),
                      ('image', dict(type='ControlNetImageGenerator'))):
        model = MODELS.build(dict(cfg, components=dict(preset='tiny'),
                                  source_dataset='PotsdamDataset'))
        generator = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for p in model.trainable_parameters().values():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.2)
        paths[name] = model.export(osp.join(folder, name))
    return paths


def real_set_and_generators(base, num_train):
    """A captioned real set of ``num_train`` 32 px patches under ``base``
    and :func:`exported_generators`: ``(data_root, paths)``."""
    real = make_seg_dataset(str(base / 'real'), num_train=num_train,
                            num_val=0, size=32)
    write_captions(real, POTSDAM_CLASSES, True, 'img_dir/train',
                   'ann_dir/train')
    return real, exported_generators(str(base / 'gens'))


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    return real_set_and_generators(tmp_path_factory.mktemp('synth'), 6)


def synth_cfg(setup, **overrides):
    real, paths = setup
    cfg = dict(
        source_dataset='PotsdamDataset',
        mask_generator=dict(config=osp.join(GEN, 'mask_lora_potsdam.py'),
                            weights=paths['mask'],
                            model=dict(TINY, lora_rank=4)),
        image_generator=dict(
            config=osp.join(GEN, 'image_controlnet_potsdam.py'),
            weights=paths['image'], model=TINY),
        real_captions=dict(data_root=real),
        shares=dict(mode='real', rarity_exponent=0.5),
        size=32, base_seed=5, batch_size=2,
        mask_sampling=dict(steps=2), image_sampling=dict(steps=2),
        cleanup_min_neighbours=1)
    cfg.update(overrides)
    return cfg


def files_of(out):
    result = {}
    for sub in ('img_dir/train', 'ann_dir/train'):
        for name in sorted(os.listdir(osp.join(out, sub))):
            result[f'{sub}/{name}'] = np.asarray(
                Image.open(osp.join(out, sub, name)))
    return result


def assert_same_files(a, b):
    fa, fb = files_of(a), files_of(b)
    assert fa.keys() == fb.keys()
    for key in fa:
        assert np.array_equal(fa[key], fb[key]), key


def test_set_is_readable_and_manifest_matches_files(setup, tmp_path):
    out = str(tmp_path / 'syn')
    engine = SynthesisEngine(synth_cfg(setup), device='cpu')
    result = engine.run(5, out)
    captions = load_captions(osp.join(setup[0], 'captions.jsonl'),
                             POTSDAM_CLASSES)
    assert result == dict(generated=5, seconds=result['seconds'],
                          complete=True)
    ds = DATASETS.build(dict(type='DiffusionSynthDataset',
                             source_dataset='PotsdamDataset', data_root=out,
                             verify='full'))
    assert len(ds) == 5
    for i in range(5):
        info = ds.get_data_info(i)
        record = info['manifest']
        label = to_train_ids(np.asarray(Image.open(info['seg_map_path'])),
                             reduce_zero_label=True)
        measured = class_shares(label, 6)
        assert np.allclose(measured, [record['measured_shares'][c]
                                      for c in POTSDAM_CLASSES], atol=1e-6)
        target = np.array([record['target_shares'][c]
                           for c in POTSDAM_CLASSES])
        assert record['cpe'] == pytest.approx(
            np.abs(measured - target).mean() * 100, abs=1e-3)
        assert record['seed'] == 5 + i
        # the prompts sample i was made from; the mask prompt
        # ('shares+caption') states the target shares, then the caption
        plan = engine.plan(i)
        assert (record['prompt'], record['image_prompt']) == (
            plan['mask_prompt'], plan['image_prompt'])
        share_text = format_class_shares(plan['target'], POTSDAM_CLASSES)
        assert record['prompt'].startswith(share_text + '. ')
        assert record['image_prompt'].endswith('. ' + share_text)
        # the real patch whose shares and caption it was drawn for
        drawn = captions[record['real_patch']]
        assert np.allclose(target, drawn['shares_array'], atol=0.01)
        assert drawn['caption'].rstrip('.') in record['image_prompt']
        assert set(record['generator_weights']) == {'mask_generator',
                                                    'image_generator'}
        assert Image.open(info['img_path']).size == (32, 32)
    # a complete set is reused: nothing is generated again
    assert engine.run(5, out)['generated'] == 0
    # fixed shares are drawn from no patch
    fixed = str(tmp_path / 'fixed')
    SynthesisEngine(synth_cfg(setup, shares=dict(
        mode='fixed', fixed_shares=[1] * 6)), device='cpu').run(1, fixed)
    record = read_jsonl(osp.join(fixed, 'manifest.jsonl'))[0]
    assert 'real_patch' not in record and record['image_prompt']


def test_resume_after_crash_gives_exactly_n(setup, tmp_path, monkeypatch):
    out, clean = str(tmp_path / 'syn'), str(tmp_path / 'clean')
    engine = SynthesisEngine(synth_cfg(setup), device='cpu')
    engine.run(5, clean)
    calls = []
    original = SynthesisEngine._write

    def crash_on_third(self, out_dir, plan, mask, image, seconds):
        calls.append(plan['id'])
        if len(calls) == 3:
            # killed mid-write: a temporary file is left, no record
            open(osp.join(out_dir, 'img_dir/train', '.tmp-x.png'),
                 'wb').write(b'partial')
            raise KeyboardInterrupt
        original(self, out_dir, plan, mask, image, seconds)

    monkeypatch.setattr(SynthesisEngine, '_write', crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        engine.run(5, out)
    monkeypatch.setattr(SynthesisEngine, '_write', original)
    status = synthesis_status(out, 5)
    assert not status['complete'] and '000002' not in status['done']
    result = engine.run(5, out)
    # only what had no record is made again (writes run concurrently, so
    # sample 3 may have been finished before sample 2 failed)
    assert result['complete']
    assert result['generated'] == 5 - len(status['done'])
    assert not [n for n in os.listdir(osp.join(out, 'img_dir/train'))
                if n.startswith('.tmp')]
    assert_same_files(out, clean)


@pytest.fixture(scope='module')
def engine(setup):
    """One engine of ``synth_cfg(setup)`` (generators loaded once) for the
    tests that make only a sample or two."""
    return SynthesisEngine(synth_cfg(setup), device='cpu')


def engine_with(setup, engine, **overrides):
    """An engine of ``synth_cfg(setup, **overrides)`` reusing ``engine``'s
    generators (for overrides that leave the generators alone)."""
    return SynthesisEngine(synth_cfg(setup, **overrides), device='cpu',
                           mask_model=engine.mask_model,
                           image_model=engine.image_model)


def test_resume_remakes_a_sample_whose_record_was_not_written(
        engine, tmp_path, monkeypatch):
    # killed after sample 1's image and mask were in place, before its
    # record: the files alone do not make a sample done
    from dldm_mmseg.synthesis import output as synthesis  # writes them
    out = str(tmp_path / 'syn')
    original = synthesis.atomic_open
    record_1 = osp.join(out, 'records', '000001.json')

    def crash_on_record_1(path, *args, **kwargs):
        if path == record_1:
            raise KeyboardInterrupt
        return original(path, *args, **kwargs)

    monkeypatch.setattr(synthesis, 'atomic_open', crash_on_record_1)
    with pytest.raises(KeyboardInterrupt):
        engine.run(2, out, progress=False)
    monkeypatch.setattr(synthesis, 'atomic_open', original)
    written = files_of(out)
    assert {'img_dir/train/000001.png', 'ann_dir/train/000001.png'} <= \
        set(written)
    assert not osp.exists(record_1)
    status = synthesis_status(out, 2)
    assert status['done'] == {'000000'} and status['missing'] == ['000001']
    result = engine.run(2, out, progress=False)
    assert result['generated'] == 1 and result['complete']
    assert json.load(open(record_1))['seed'] == 5 + 1
    assert [json.loads(line)['id'] for line in
            open(osp.join(out, 'manifest.jsonl'))] == ['000000', '000001']
    remade = files_of(out)
    assert remade.keys() == written.keys()
    for key in written:  # made again from the same seed: the same pair
        assert np.array_equal(remade[key], written[key]), key


@pytest.mark.parametrize('sub', ['img_dir/train', 'ann_dir/train'])
def test_resume_remakes_a_recorded_sample_whose_file_was_deleted(
        engine, tmp_path, sub):
    out = str(tmp_path / 'syn')
    engine.run(2, out, progress=False)
    path = osp.join(out, sub, '000001.png')
    before = np.asarray(Image.open(path))
    os.remove(path)
    assert osp.isfile(osp.join(out, 'records', '000001.json'))
    status = synthesis_status(out, 2)
    assert not status['complete'] and status['missing'] == ['000001']
    result = engine.run(2, out, progress=False)
    assert result['generated'] == 1 and result['complete']
    assert np.array_equal(np.asarray(Image.open(path)), before)


@pytest.mark.parametrize('change', [
    dict(mask_sampling=dict(steps=3)),
    dict(mask_sampling=dict(steps=2, guidance_scale=2.0)),
    dict(mask_sampling=dict(steps=2, prop_guidance=dict(
        scale=0.5, max_timestep=150))),
    dict(image_sampling=dict(steps=3)),
    dict(image_sampling=dict(steps=2, guidance_scale=2.0)),
])
def test_sampling_settings_change_the_fingerprint(setup, engine, change):
    assert engine_with(setup, engine).fingerprint() == engine.fingerprint()
    assert engine_with(setup, engine, **change).fingerprint() != \
        engine.fingerprint()


def test_set_made_with_2_mask_steps_is_not_extended_with_3(setup, engine,
                                                           tmp_path):
    out = str(tmp_path / 'syn')
    engine.run(1, out, progress=False)  # mask_sampling=dict(steps=2)
    three = engine_with(setup, engine, mask_sampling=dict(steps=3))
    with pytest.raises(ValueError, match='another configuration'):
        three.run(2, out, progress=False)
    assert synthesis_status(out, 1)['complete']
    assert list(files_of(out)) == ['img_dir/train/000000.png',
                                   'ann_dir/train/000000.png']


def test_same_files_across_batch_sizes(setup, tmp_path):
    a, b = str(tmp_path / 'b1'), str(tmp_path / 'b3')
    SynthesisEngine(synth_cfg(setup, batch_size=1, batching='one_at_a_time'),
                    device='cpu').run(4, a)
    SynthesisEngine(synth_cfg(setup, batch_size=3, batching='one_at_a_time'),
                    device='cpu').run(4, b)
    assert_same_files(a, b)


def test_aligned_batches_resume_bit_identical_and_name_batch_size(
        setup, engine, tmp_path):
    # default batching: chunks of batch_size (2) always computed together
    assert engine.settings.batching == 'aligned' and engine.net_batch == 2
    clean, out = str(tmp_path / 'clean'), str(tmp_path / 'syn')
    engine.run(5, clean, progress=False)
    engine.run(5, out, progress=False)
    # killed at various points: a record, an image and a mask lost in
    # three different chunks; each chunk is computed whole again
    os.remove(osp.join(out, 'records', '000001.json'))
    os.remove(osp.join(out, IMG, '000002.png'))
    os.remove(osp.join(out, ANN, '000004.png'))
    result = engine.run(5, out, progress=False)
    assert result['generated'] == 3 and result['complete']
    assert_same_files(out, clean)
    # a set extended later: the last chunk (4, 5) was computed whole
    engine.run(6, clean, progress=False)
    fresh = str(tmp_path / 'fresh')
    engine.run(6, fresh, progress=False)
    assert_same_files(clean, fresh)
    # the batch size is part of an aligned set's identity
    other = engine_with(setup, engine, batch_size=3)
    with pytest.raises(ValueError, match='batch_size differ'):
        other.run(6, out, progress=False)
    assert [(g[0], sorted(g[1])) for g in engine.work_groups(
        5, {'000000', '000001'}, rank=1, world_size=2)] == [([2, 3], [2, 3])]
    with pytest.raises(ValueError, match='batching must be one of'):
        engine_with(setup, engine, batching='fast')
    with pytest.raises(ValueError, match='unknown setting'):
        engine_with(setup, engine, deterministic=False)


def rank_worker(rank, port, cfg, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    import dldm_mmseg  # noqa: F401
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    SynthesisEngine(cfg, device='cpu').run(5, out, rank=rank, world_size=2,
                                           progress=False)
    dist.destroy_process_group()


def test_two_processes_make_the_same_set_as_one(setup, tmp_path):
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    cfg = synth_cfg(setup)
    SynthesisEngine(cfg, device='cpu').run(5, one)
    mp.spawn(rank_worker, args=(free_port(), cfg, two), nprocs=2, join=True)
    assert synthesis_status(two, 5)['complete']
    assert_same_files(one, two)
    assert open(osp.join(one, 'manifest.jsonl')).read().count('\n') == 5


def test_rejection_lowers_class_proportion_error(setup, tmp_path):
    # fixed targets the random generator cannot meet: every mask misses
    fixed = dict(mode='fixed', fixed_shares=dict(car=0.5, clutter=0.5))
    plain = SynthesisEngine(synth_cfg(setup, shares=fixed), device='cpu')
    strict = SynthesisEngine(
        synth_cfg(setup, shares=fixed, reject=dict(max_cpe=0.0,
                                                   max_tries=4)),
        device='cpu')
    out_a, out_b = str(tmp_path / 'a'), str(tmp_path / 'b')
    plain.run(6, out_a)
    strict.run(6, out_b)

    def records(out):
        return [json.loads(line) for line in
                open(osp.join(out, 'manifest.jsonl'))]

    before = [r['cpe'] for r in records(out_a)]
    after = [r['cpe'] for r in records(out_b)]
    assert all(b <= a + 1e-9 for a, b in zip(before, after))  # best kept
    assert np.mean(after) < np.mean(before)
    assert all(r['tries'] == 4 and r['rejection_passed'] is False
               for r in records(out_b))


def test_share_sampler_enriches_rare_classes():
    rng = np.random.default_rng(0)
    real = rng.dirichlet([8, 8, 8, 8, 0.3, 0.3], size=200)
    plain = TargetShareSampler(POTSDAM_CLASSES, real, seed=1)
    boosted = TargetShareSampler(POTSDAM_CLASSES, real, seed=1,
                                 rarity_exponent=1.0)
    floored = TargetShareSampler(POTSDAM_CLASSES, real, seed=1,
                                 min_shares=dict(car=0.1))

    def mean_shares(sampler):
        return np.mean([sampler(i)['shares'] for i in range(400)], 0)

    car = POTSDAM_CLASSES.index('car')
    assert mean_shares(boosted)[car] > 1.5 * mean_shares(plain)[car]
    assert all(floored(i)['shares'][car] >= 0.1 - 1e-9 for i in range(50))
    assert plain(7)['shares'].tolist() == plain(7)['shares'].tolist()
    assert all(abs(plain(i)['shares'].sum() - 1) < 1e-9 for i in range(20))
    with pytest.raises(ValueError, match='sum to 1.10'):
        TargetShareSampler(POTSDAM_CLASSES, real,
                           min_shares=dict(car=0.6, clutter=0.5))


def test_isolated_pixel_cleanup():
    labels = np.zeros((5, 5), dtype=np.uint8)
    labels[2, 2] = 3  # a lone pixel
    labels[0:2, 3:5] = 1  # a 2x2 block survives
    cleaned = remove_isolated_pixels(labels, 1)
    assert cleaned[2, 2] == 0
    assert (cleaned[0:2, 3:5] == 1).all()


def test_bad_inputs(setup, tmp_path):
    engine = SynthesisEngine(synth_cfg(setup), device='cpu')
    with pytest.raises(ValueError, match='positive integer'):
        engine.run(0, str(tmp_path / 'x'))
    out = str(tmp_path / 'syn')
    engine.run(2, out)
    other = SynthesisEngine(synth_cfg(setup, base_seed=99), device='cpu')
    with pytest.raises(ValueError, match=r'another configuration \(base_seed '
                       'differ.*--overwrite'):
        other.run(2, out)
    assert synthesis_status(out, 2)['complete']  # nothing lost
    other.run(2, out, overwrite=True)
    assert json.loads(open(osp.join(out, 'manifest.jsonl')).readline())[
        'seed'] == 99
    with pytest.raises(ValueError, match='beyond --num 1'):
        other.run(1, out)
    blocked = tmp_path / 'file'
    blocked.write_text('not a folder')
    with pytest.raises(OSError):
        engine.run(1, str(blocked / 'syn'))
    real, paths = setup
    bad = synth_cfg(setup)
    bad['mask_generator'] = dict(bad['mask_generator'],
                                 model=dict(TINY, lora_rank=8))
    with pytest.raises(ValueError, match='do not fit this model'):
        SynthesisEngine(bad, device='cpu')


def test_tool_cli(setup, tmp_path, capsys, monkeypatch):
    config = tmp_path / 'synth.py'
    config.write_text(f'synthesis = {synth_cfg(setup)!r}\n'
                      f'out_dir = {str(tmp_path / "syn")!r}\n')
    tool = load_tool('synthesize')
    result = tool.main([str(config), '--num', '3', '--batch-size', '2'])
    assert result['complete']
    # user-fixed shares: kept in every target, recorded in the manifest
    fixed = str(tmp_path / 'fixed')
    tool.main([str(config), '--num', '2', '--out', fixed, '--shares',
               'car=5,clutter=8'])
    for line in open(osp.join(fixed, 'manifest.jsonl')):
        record = json.loads(line)
        assert record['target_shares']['car'] == pytest.approx(0.05)
        assert record['target_shares']['clutter'] == pytest.approx(0.08)
        assert record['user_shares'] == {'car': 0.05, 'clutter': 0.08}
    with pytest.raises(SystemExit, match="--shares: unknown class 'lake'"):
        tool.main([str(config), '--num', '2', '--out', fixed, '--shares',
                   'lake=5'])
    for argv, message in ((['--num', '-1'], '--num must be > 0'),
                          (['--num', '3', '--batch-size', '0'],
                           '--batch-size must be >= 1, got 0'),
                          (['--num', '3', '--batch-size', '-2'],
                           '--batch-size must be >= 1, got -2')):
        with pytest.raises(SystemExit):
            tool.main([str(config), *argv])
        assert message in capsys.readouterr().err
    # a bad batch size in the config fails before any file is touched,
    # also with --overwrite
    before = files_of(str(tmp_path / 'syn'))
    with pytest.raises(ValueError, match='batch_size must be an integer >= '
                       '1, got 0'):
        tool.main([str(config), '--num', '3', '--overwrite',
                   '--cfg-options', 'synthesis.batch_size=0'])
    assert files_of(str(tmp_path / 'syn')).keys() == before.keys()
    # an output folder that cannot be written fails before the generators
    # load (minutes with SD), naming the folder
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')

    def no_engine(*args, **kwargs):
        raise AssertionError('generators loaded before the --out check')

    monkeypatch.setattr(tool, 'SynthesisEngine', no_engine)
    with pytest.raises(NotADirectoryError, match='a_file.* is a file'):
        tool.main([str(config), '--num', '1', '--out', str(blocker / 'syn')])
    monkeypatch.setattr(tool.os, 'access', lambda path, mode: False)
    with pytest.raises(PermissionError, match='is not writable'):
        tool.main([str(config), '--num', '1', '--out',
                   str(tmp_path / 'new' / 'syn')])


def test_fast_mode_batches_and_stays_within_one_level(setup, tmp_path):
    a, b = str(tmp_path / 'b1'), str(tmp_path / 'b3')
    SynthesisEngine(synth_cfg(setup, batch_size=1, batching='free'),
                    device='cpu').run(4, a)
    SynthesisEngine(synth_cfg(setup, batch_size=3, batching='free'),
                    device='cpu').run(4, b)
    fa, fb = files_of(a), files_of(b)
    assert fa.keys() == fb.keys()
    for key in fa:
        if key.startswith('ann_dir'):
            # a class id is a class: a label map may not be one id off
            assert np.array_equal(fa[key], fb[key]), key
        else:
            assert np.abs(fa[key].astype(int) - fb[key]).max() <= 1, key


def test_synthetic_dataset_makes_then_reuses_its_set(setup, tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner
    from dldm_mmseg.datasets.toy_landcover import make_toy_landcover
    real = str(tmp_path / 'toy')
    make_toy_landcover(real, num_train=6, num_val=2, size=32)
    synth_config = tmp_path / 'synth.py'
    synth_config.write_text(f'synthesis = {synth_cfg(setup)!r}\n')
    syn_root = str(tmp_path / 'syn')
    seg_config = tmp_path / 'seg.py'
    seg_config.write_text(f"""
_base_ = [{osp.join(ROOT, 'configs', 'demo', 'deeplabv3plus_toy_syn0.py')!r}]
train_dataloader = dict(
    batch_size=2,
    sampler=dict(_delete_=True, type='InfiniteMixedRatioSampler',
                 syn_ratio=0.5),
    dataset=dict(_delete_=True, type='ConcatDataset', datasets=[
        dict(type='PotsdamDataset', data_root={real!r},
             data_prefix=dict(img_path='img_dir/train',
                              seg_map_path='ann_dir/train'),
             pipeline={{{{_base_.train_pipeline}}}}),
        dict(type='DiffusionSynthDataset',
             source_dataset='PotsdamDataset', data_root={syn_root!r},
             synthesis=dict(config={str(synth_config)!r}, num=3),
             pipeline={{{{_base_.train_pipeline}}}})]))
val_dataloader = dict(dataset=dict(data_root={real!r}))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2))
""")
    for attempt in range(2):
        cfg = Config.fromfile(str(seg_config))
        cfg.work_dir = str(tmp_path / f'work{attempt}')
        cfg.visualizer.name = f'visualizer_hook{attempt}'
        runner = Runner.from_cfg(cfg)
        runner.train()
        made = runner.train_dataloader.dataset.datasets[1].synthesis_result
        assert made['complete']
        assert made['generated'] == (3 if attempt == 0 else 0)
        sampler = runner.train_dataloader.sampler
        assert len(sampler.pool) == 3 and sampler.num_extra == 3
        assert runner.iter == 2
    # a complete set of another configuration is refused, not reused
    from dldm_mmseg.synthesis import SyntheticSetBuilder
    synth_config.write_text(
        f'synthesis = {dict(synth_cfg(setup), base_seed=7)!r}\n')
    with pytest.raises(ValueError, match=r'holds a set of another '
                       r'configuration .*\(base_seed differ'):
        SyntheticSetBuilder(str(synth_config), num=3).ensure(syn_root)


def test_making_a_set_leaves_the_global_random_state(setup, tmp_path):
    """A set made while a training run builds its dataset must not change
    what the run draws next: the run trains as it would over a set made
    beforehand (the first of several runs over a new set did not)."""
    import random

    from dldm_mmseg.synthesis import SyntheticSetBuilder

    def seeded_draws(work=None):
        random.seed(3)
        np.random.seed(3)
        torch.manual_seed(3)
        if work is not None:
            work()
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    expected = seeded_draws()
    # the engine draws from the global generators (building its models)
    assert seeded_draws(lambda: SynthesisEngine(
        synth_cfg(setup), device='cpu').run(1, str(tmp_path / 'direct'))) \
        != expected
    synth_config = tmp_path / 'synth.py'
    synth_config.write_text(f'synthesis = {synth_cfg(setup)!r}\n')
    made = {}
    assert seeded_draws(lambda: made.update(SyntheticSetBuilder(
        str(synth_config), num=1).ensure(str(tmp_path / 'built')))) \
        == expected
    assert made['generated'] == 1


def test_analyze_tool_reports_mcpe_plots_and_fid(setup, tmp_path):
    real, _ = setup
    out = str(tmp_path / 'syn')
    SynthesisEngine(synth_cfg(setup), device='cpu').run(4, out)
    records = [json.loads(line) for line in
               open(osp.join(out, 'manifest.jsonl'))]
    analyze = load_tool('analyze')
    summary = analyze.main([out, '--real', real, '--grid', '3', '--fid'])
    assert summary['mCPE'] == pytest.approx(
        np.mean([r['cpe'] for r in records]), abs=1e-3)
    assert summary['num_synthetic'] == 4 and summary['num_real'] == 6
    # each class's mean excess over its target, from the manifest
    measured = np.array([[r['measured_shares'][c] for c in POTSDAM_CLASSES]
                         for r in records])
    target = np.array([[r['target_shares'][c] for c in POTSDAM_CLASSES]
                       for r in records])
    excess = (measured - target).mean(0) * 100
    assert list(summary['share_excess'].values()) == pytest.approx(excess)
    assert summary['flagged_classes'] == [
        POTSDAM_CLASSES[i] for i in np.argsort(-excess) if excess[i] > 3]
    assert np.isfinite(summary['FID']) and summary['FID'] > 0
    for name in ('class_shares.png', 'samples.png', 'summary.json'):
        assert osp.getsize(osp.join(out, 'analysis', name)) > 500
    grid = np.asarray(Image.open(osp.join(out, 'analysis', 'samples.png'))
                      .convert('RGB'))
    assert grid.shape[1] > grid.shape[0]  # 3 columns of mask over image
    # the masks are drawn in the palette's colours, with the key beside
    from mmseg.datasets import PotsdamDataset
    palette = PotsdamDataset.METAINFO['palette']
    colours = {tuple(c) for c in grid.reshape(-1, 3)}
    label = np.asarray(Image.open(osp.join(out, IMG.replace('img', 'ann'),
                                           records[0]['id'] + '.png')))
    for value in np.unique(label[label > 0]):
        assert tuple(palette[value - 1]) in colours
    # a folder that is not a finished set is refused, naming what is wrong
    os.remove(osp.join(out, IMG, records[1]['id'] + '.png'))
    with pytest.raises(FileNotFoundError, match='1 file.*missing.*same --out'):
        analyze.main([out, '--real', real])
    with pytest.raises(FileNotFoundError, match='not a finished synthetic'):
        analyze.main([str(tmp_path), '--real', real])


@pytest.fixture(scope='module')
def reference_model(tmp_path_factory):
    return make_reference_model(str(tmp_path_factory.mktemp('ref')))


def test_absent_share_reaches_the_engines_draws(setup):
    plain = SynthesisEngine(synth_cfg(setup), device='cpu').share_sampler
    present = plain.real_shares >= 0.005
    # a class some real patches hold and others do not
    name = next(c for i, c in enumerate(POTSDAM_CLASSES)
                if 0 < present[:, i].sum() < len(present))
    absent = ~present[:, POTSDAM_CLASSES.index(name)]
    engine = SynthesisEngine(synth_cfg(setup, shares=dict(
        mode='real', rarity_exponent=0.5, absent_classes=[name],
        absent_share=0.9)), device='cpu')
    assert engine.share_sampler.patch_probs[absent].sum() == \
        pytest.approx(0.9)
    assert plain.patch_probs[absent].sum() != pytest.approx(0.9)


@pytest.mark.parametrize('what', ['order', 'count'])
def test_a_reference_of_other_classes_is_refused(setup, reference_model,
                                                 tmp_path, what):
    """The filter and the guidance read a reference's class indices as
    the set's: one of another class count, or of the set's classes in
    another order, is refused before any sample is made."""
    from mmseg.apis import init_model
    config, _ = reference_model
    classes = tuple(reversed(POTSDAM_CLASSES))
    if what == 'count':  # the same network with a five-class head
        config = str(tmp_path / 'five.py')
        with open(config, 'w') as f:
            f.write(f'_base_ = [{reference_model[0]!r}]\n'
                    'model = dict(decode_head=dict(num_classes=5))\n')
        classes = POTSDAM_CLASSES[:5]
    model = init_model(config, None, device='cpu')
    checkpoint = str(tmp_path / 'other.pth')
    torch.save(dict(meta=dict(dataset_meta=dict(classes=classes)),
                    state_dict=model.state_dict()), checkpoint)
    reference = dict(config=config, checkpoint=checkpoint)
    for key, options in (
            ('consistency', dict(consistency=dict(reference,
                                                  min_confidence=0.0))),
            ('seg_guidance', dict(seg_guidance=dict(reference, scale=1.0)))):
        with pytest.raises(ValueError, match=rf'synthesis\.{key}: the '
                           rf'segmentor {re.escape(checkpoint)} has '
                           rf'{len(classes)} classes \({classes[0]}.*'
                           r"in the set's order"):
            SynthesisEngine(synth_cfg(setup, **options), device='cpu')
    if what == 'order':  # the same names in the set's order pass
        torch.save(dict(meta=dict(dataset_meta=dict(
            classes=POTSDAM_CLASSES)), state_dict=model.state_dict()),
            checkpoint)
        SynthesisEngine(synth_cfg(setup, consistency=dict(
            reference, min_confidence=0.0)), device='cpu')
        # names it does not share (mmseg's guess for a checkpoint saved
        # without them, say) are not compared
        torch.save(dict(meta=dict(dataset_meta=dict(
            classes=tuple('abcdef'))), state_dict=model.state_dict()),
            checkpoint)
        SynthesisEngine(synth_cfg(setup, consistency=dict(
            reference, min_confidence=0.0)), device='cpu')


def test_consistency_ignore_mode_keeps_only_agreeing_pixels(
        setup, reference_model, tmp_path):
    from dldm_mmseg.evaluation.consistency import ConsistencyChecker
    config, checkpoint = reference_model
    out = str(tmp_path / 'syn')
    consistency = dict(config=config, checkpoint=checkpoint,
                       min_confidence=0.0, mode='ignore')
    SynthesisEngine(synth_cfg(setup, consistency=consistency),
                    device='cpu').run(3, out)
    checker = ConsistencyChecker(config, checkpoint, device='cpu')
    records = [json.loads(line) for line in
               open(osp.join(out, 'manifest.jsonl'))]
    for record in records:
        image = np.asarray(Image.open(osp.join(out, 'img_dir/train',
                                               record['id'] + '.png')))
        label = np.asarray(Image.open(osp.join(out, 'ann_dir/train',
                                               record['id'] + '.png')))
        pred, _ = checker.predict([image])
        kept = label > 0
        # every pixel still labelled agrees with the reference model
        assert np.array_equal(pred[0][kept], label[kept].astype(int) - 1)
        assert record['consistency_mode'] == 'ignore'
        assert 0 <= record['disagreement'] <= 1
        # the ignored pixels, per class of the generated mask
        ignored = record['disagreeing_pixels']
        assert list(ignored) == list(POTSDAM_CLASSES)
        valid = sum(ignored.values()) + int(kept.sum())
        assert sum(ignored.values()) == pytest.approx(
            record['disagreement'] * valid, abs=1)
        measured = class_shares(np.where(label == 0, 255,
                                         label.astype(int) - 1), 6)
        assert np.allclose(measured, [record['measured_shares'][c]
                                      for c in POTSDAM_CLASSES], atol=1e-6)
    # what the filter took from each class, as analyze reports it
    from dldm_mmseg.experiments.analysis import filtered_shares
    taken = filtered_shares(out, POTSDAM_CLASSES)
    ignored = np.zeros(6)
    labelled = np.zeros(6)
    for record in records:
        ignored += [record['disagreeing_pixels'][c] for c in POTSDAM_CLASSES]
        label = np.asarray(Image.open(osp.join(out, 'ann_dir/train',
                                               record['id'] + '.png')))
        labelled += np.bincount(label.ravel(), minlength=7)[1:]
    assert ignored.sum() > 0
    for c, i, n in zip(POTSDAM_CLASSES, ignored, labelled):
        if i + n:
            assert taken[f'ignored.{c}'] == pytest.approx(100 * i / (i + n))
    # a set made without the filter: nothing to report
    plain = tmp_path / 'plain'
    plain.mkdir()
    (plain / 'manifest.jsonl').write_text(json.dumps(dict(id='000000')))
    assert filtered_shares(str(plain), POTSDAM_CLASSES) == {}


def test_consistency_drop_mode_and_metric(setup, engine, reference_model,
                                          tmp_path):
    from mmseg.evaluation import IoUMetric
    from dldm_mmseg.evaluation.consistency import ConsistencyChecker
    config, checkpoint = reference_model

    def make(max_disagreement, out):
        consistency = dict(config=config, checkpoint=checkpoint,
                           min_confidence=0.0, mode='drop',
                           max_disagreement=max_disagreement)
        engine_with(setup, engine, consistency=consistency).run(
            3, out, progress=False)
        return [json.loads(line) for line in
                open(osp.join(out, 'manifest.jsonl'))]

    strict = str(tmp_path / 'strict')
    records = make(0.0, strict)
    # the reference's predictions on the saved pairs, recomputed here
    pred, _ = ConsistencyChecker(config, checkpoint, device='cpu').predict(
        [np.asarray(Image.open(osp.join(strict, IMG, r['id'] + '.png')))
         for r in records])
    masks = [to_train_ids(np.asarray(Image.open(osp.join(
        strict, ANN, r['id'] + '.png'))), reduce_zero_label=True)
        for r in records]  # drop mode saves the masks as generated
    exact = [float((p != m)[m != 255].mean()) for p, m in zip(pred, masks)]
    for record, share in zip(records, exact):
        assert record['disagreement'] == pytest.approx(share, abs=1e-6)
        assert record['consistency_mode'] == 'drop'
    # a random reference disagrees somewhere on every sample: none passes
    # at max_disagreement 0, and the set refuses to load without them
    assert [r['consistency_passed'] for r in records] == [False] * 3
    with pytest.raises(ValueError, match='failed the consistency'):
        DATASETS.build(dict(type='DiffusionSynthDataset',
                            source_dataset='PotsdamDataset', data_root=strict))
    assert len(DATASETS.build(dict(type='DiffusionSynthDataset',
                                   source_dataset='PotsdamDataset',
                                   data_root=strict,
                                   keep_inconsistent=True))) == 3
    # the same pairs with the middle disagreement as the bound ("at most"):
    # the two samples at or under it pass, the one above it is left out
    bound = sorted(exact)[1]
    assert bound < max(exact)
    middle = str(tmp_path / 'middle')
    again = make(bound, middle)
    assert [r['disagreement'] for r in again] == \
        [r['disagreement'] for r in records]
    kept = [r['id'] for r, share in zip(again, exact) if share <= bound]
    assert [r['id'] for r in again if r['consistency_passed']] == kept
    assert len(kept) == 2
    ds = DATASETS.build(dict(type='DiffusionSynthDataset',
                             source_dataset='PotsdamDataset',
                             data_root=middle))
    assert [ds.get_data_info(i)['manifest']['id']
            for i in range(len(ds))] == kept
    # analyze's consistency mIoU is mmseg's mIoU of those predictions
    # against the masks, over every sample of the manifest
    real, _ = setup
    summary = load_tool('analyze').main(
        [strict, '--real', real, '--ref-config', config, '--ref-checkpoint',
         checkpoint])
    areas = [IoUMetric.intersect_and_union(
        torch.from_numpy(p), torch.from_numpy(m), 6, 255)
        for p, m in zip(pred, masks)]
    intersect, union = (sum(a[k] for a in areas).numpy() for k in (0, 1))
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = intersect / union
    assert summary['consistency_mIoU'] == pytest.approx(
        np.nanmean(iou) * 100, abs=1e-6)
    for c, value in zip(POTSDAM_CLASSES, iou):
        assert summary[f'consistency_IoU.{c}'] == pytest.approx(
            value * 100, abs=1e-6, nan_ok=True)


def test_set_identity_is_what_made_it_not_how_paths_are_spelled(
        setup, tmp_path, monkeypatch):
    """A set resumed through another spelling of the captions path, or
    after being moved, is the same set; a swapped generator whose weights
    live in subfolders (a full fine-tune) is not."""
    import shutil

    from dldm_mmseg.utils.hashing import folder_hash
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    real, paths = setup
    out = str(tmp_path / 'syn')
    SynthesisEngine(synth_cfg(setup), device='cpu').run(1, out)
    monkeypatch.chdir(osp.dirname(real))
    relative = synth_cfg(setup, real_captions=dict(
        data_root=osp.relpath(real)))
    moved = str(tmp_path / 'moved')
    shutil.move(out, moved)
    SynthesisEngine(relative, device='cpu').run(2, moved)  # extends it
    assert synthesis_status(moved, 2)['complete']
    # a fully fine-tuned export keeps its weights in subfolders only
    export = tmp_path / 'full'
    (export / 'unet').mkdir(parents=True)
    weights = export / 'unet' / 'diffusion_pytorch_model.safetensors'
    weights.write_bytes(b'1' * 64)
    (export / 'unet' / 'config.json').write_text('{}')
    first = folder_hash(str(export))
    assert folder_hash(str(export)) == first  # cached: same answer
    weights.write_bytes(b'2' * 65)  # the cache key: path, size, mtime
    assert folder_hash(str(export)) != first
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='holds no weights'):
        folder_hash(str(tmp_path / 'empty'))


def test_segmentor_guidance_paints_other_images_and_checks_its_keys(
        setup, reference_model, tmp_path):
    config, checkpoint = reference_model
    plain, guided = str(tmp_path / 'plain'), str(tmp_path / 'guided')
    SynthesisEngine(synth_cfg(setup), device='cpu').run(2, plain)
    engine = SynthesisEngine(synth_cfg(setup, seg_guidance=dict(
        config=config, checkpoint=checkpoint, scale=50.0,
        timesteps=(0, 1000))), device='cpu')
    engine.run(2, guided)
    a, b = files_of(plain), files_of(guided)
    masks = [k for k in a if k.startswith('ann_dir')]
    assert all(np.array_equal(a[k], b[k]) for k in masks)  # stage 1 alike
    assert any(not np.array_equal(a[k], b[k]) for k in a
               if k.startswith('img_dir'))
    # part of the set's identity: a guided set is not an unguided one
    assert engine.identity()['seg_guidance']['scale'] == 50.0
    assert engine.identity()['weights']['seg_guidance'] == \
        cached_file_sha256(checkpoint)
    with pytest.raises(ValueError, match=r'synthesis.seg_guidance.timesteps '
                       r'must be \(low, high\)'):
        SynthesisEngine(synth_cfg(setup, seg_guidance=dict(
            config=config, checkpoint=checkpoint, scale=1.0,
            timesteps=(900, 100))), device='cpu')
    with pytest.raises(ValueError, match=r"seg_guidance has unknown "
                       r"setting\(s\) \['strength'\]; the settings are "
                       r"\['config', 'checkpoint', 'scale'"):
        SynthesisEngine(synth_cfg(setup, seg_guidance=dict(
            config=config, strength=1.0)), device='cpu')
    with pytest.raises(ValueError, match=r"seg_guidance needs "
                       r"\['checkpoint', 'scale'\]"):
        SynthesisEngine(synth_cfg(setup, seg_guidance=dict(
            config=config)), device='cpu')
