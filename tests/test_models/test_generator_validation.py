"""Generators as complete mmengine models: predict mode, a val loop that
reports mCPE on held-out shares, and tools/test.py on a checkpoint."""
import glob
import json
import os.path as osp

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from mmseg.registry import DATASETS, METRICS, MODELS
from dldm_mmseg.datasets.captioning import write_captions
from dldm_mmseg.utils.label_stats import class_proportion_error, class_shares
from fixtures import POTSDAM_CLASSES, load_tool, make_seg_dataset

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MASK_CFG = osp.join(ROOT, 'configs', 'generators',
                    'mask_lora_potsdam_paper.py')
DEFAULT_MASK_CFG = osp.join(ROOT, 'configs', 'generators',
                            'mask_lora_potsdam.py')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = make_seg_dataset(str(tmp_path_factory.mktemp('val') / 'real'),
                            num_train=4, num_val=3, size=32)
    write_captions(root, POTSDAM_CLASSES, True, 'img_dir/train',
                   'ann_dir/train')
    write_captions(root, POTSDAM_CLASSES, True, 'img_dir/val', 'ann_dir/val',
                   out_file='captions_val.jsonl')
    return root


def val_batch(root):
    ds = DATASETS.build(dict(type='MaskCaptionDataset', data_root=root,
                             source_dataset='PotsdamDataset',
                             captions='captions_val.jsonl', augment=False))
    return default_collate([ds[i] for i in range(len(ds))]), ds


def test_predict_returns_masks_scored_against_the_prompt_shares(data):
    model = MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=4,
                              source_dataset='PotsdamDataset',
                              components=dict(preset='tiny'),
                              inference_cfg=dict(steps=2)))
    batch, ds = val_batch(data)
    samples = model.forward(mode='predict', **batch)
    again = model.forward(mode='predict', **batch)
    assert len(samples) == 3
    for a, b in zip(samples, again):  # seeds come from the sample ids
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
    assert samples[0].seed != samples[1].seed
    assert samples[0].pred_sem_seg.data.shape == (1, 32, 32)
    metric = METRICS.build(dict(type='ClassProportionMetric'))
    metric.dataset_meta = ds.metainfo
    metric.process(batch, [s.to_dict() for s in samples])
    result = metric.evaluate(3)
    expected = np.mean([class_proportion_error(
        class_shares(s.pred_sem_seg.data[0].numpy(), 6),
        batch['target_shares'][i].numpy())
        for i, s in enumerate(samples)])
    assert result['mCPE'] == pytest.approx(expected, abs=1e-3)


def train_validate_then_test(tmp_path, base, data, name, extra=''):
    """Train a tiny variant of a generator config (``extra``: config lines
    after the common ones) for one epoch with its val loop, then run
    tools/test.py on the checkpoint; returns the logged records and the
    test metrics."""
    config = tmp_path / f'{name}.py'
    config.write_text(f"""_base_ = [{base!r}]
model = dict(components=dict(_delete_=True, preset='tiny'),
             inference_cfg=dict(steps=2))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root={data!r}))
val_dataloader = dict(batch_size=2, num_workers=0,
                      dataset=dict(data_root={data!r}, subset=None))
test_dataloader = val_dataloader
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3))
train_cfg = dict(max_epochs=1, val_interval=1)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
custom_hooks = []
visualizer = dict(name='visualizer_{name}')
""" + extra)
    work = str(tmp_path / 'work')
    load_tool('train').main([str(config), '--work-dir', work])
    scalars = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    records = [json.loads(line) for line in open(scalars[0])]
    metrics = load_tool('test').main([
        str(config), osp.join(work, 'epoch_1.pth'), '--work-dir',
        str(tmp_path / 'test'), '--cfg-options',
        f'visualizer.name=visualizer_{name}_test'])
    return records, metrics


@pytest.mark.parametrize('config', [MASK_CFG, DEFAULT_MASK_CFG])
def test_val_loop_reports_mcpe_and_test_tool_evaluates_a_checkpoint(
        data, tmp_path, config):
    # one visualizer name per run (mmengine keeps instances by name)
    records, metrics = train_validate_then_test(
        tmp_path, config, data,
        'mask_tiny_val_' + osp.splitext(osp.basename(config))[0],
        'model.update(lora_rank=4, frozen_dtype=None)\n')
    val = [r for r in records if 'mCPE' in r]
    assert len(val) == 1 and 0 <= val[0]['mCPE'] <= 100
    assert 'CPE.car' in val[0]
    # the same weights, patches and seeds give the same mCPE
    assert metrics['mCPE'] == pytest.approx(val[0]['mCPE'], abs=1e-3)


def test_predict_uses_the_ema_weights_that_export_writes(data):
    model = MODELS.build(dict(type='LoRAMaskGenerator', lora_rank=4,
                              source_dataset='PotsdamDataset',
                              components=dict(preset='tiny'), ema_decay=0.5,
                              inference_cfg=dict(steps=2)))
    batch, _ = val_batch(data)
    params = model.trainable_parameters()
    name = next(iter(params))
    with torch.no_grad():
        for key, p in params.items():  # live weights away from the shadow
            p.add_(torch.randn_like(p) * 0.5)
    seen = []
    original = model.predict

    def spy(**kwargs):
        seen.append(params[name].detach().clone())
        return original(**kwargs)

    model.predict = spy
    model.forward(mode='predict', **batch)
    assert torch.equal(seen[0], model.ema.shadow(name))
    assert not torch.equal(params[name], model.ema.shadow(name))  # restored


IMAGE_VAL_CFG = osp.join(ROOT, 'configs', 'generators',
                         'image_controlnet_potsdam_val.py')


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    from fixtures import make_reference_model
    return make_reference_model(str(tmp_path_factory.mktemp('ref')))


def test_consistency_metric_is_the_demos_consistency(data, reference):
    """The metric scores images against their masks as the demo's
    images_consistency does, from samples as the val loop gives them."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from dldm_mmseg.evaluation.consistency import ConsistencyChecker
    from dldm_mmseg.experiments.analysis import images_consistency
    rng = np.random.default_rng(0)
    images = list(rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8))
    masks = list(rng.integers(0, 6, (5, 32, 32)))
    masks[0][:4] = 255
    metric = METRICS.build(dict(type='MaskImageConsistencyMetric',
                                config=reference[0], checkpoint=reference[1],
                                device='cpu'))
    metric.dataset_meta = dict(classes=POTSDAM_CLASSES)
    samples = []
    for image, mask in zip(images, masks):
        sample = SegDataSample(metainfo=dict(image=image))
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(mask)[None])
        samples.append(sample.to_dict())
    metric.process({}, samples[:2])
    metric.process({}, samples[2:])
    result = metric.compute_metrics(metric.results)
    expected = images_consistency(
        ConsistencyChecker(*reference, device='cpu'), images, masks,
        POTSDAM_CLASSES)
    assert result.keys() == expected.keys()
    np.testing.assert_allclose([result[k] for k in expected],
                               list(expected.values()))
    with pytest.raises(FileNotFoundError, match='no_such.pth does not exist'
                       '.*train a real-only segmentor'):
        METRICS.build(dict(type='MaskImageConsistencyMetric',
                           config=reference[0], checkpoint='no_such.pth'))


def test_named_readers_score_the_same_images_under_their_names(
        reference, tmp_path):
    """Several reference segmentors read one set of painted images in one
    evaluator, each under its name, with its own one-reader scores."""
    from mmengine.evaluator import Evaluator
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from dldm_mmseg.experiments.demo.measures import consistency_evaluators
    rng = np.random.default_rng(1)
    samples = []
    for _ in range(3):
        sample = SegDataSample(metainfo=dict(image=rng.integers(
            0, 256, (32, 32, 3), dtype=np.uint8)))
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(
            rng.integers(0, 6, (1, 32, 32))))
        samples.append(sample.to_dict())
    from fixtures import make_reference_model
    refs = [dict(config=reference[0], checkpoint=reference[1]),
            dict(zip(('config', 'checkpoint'),
                     make_reference_model(str(tmp_path), seed=1)))]

    def scores(evaluators):
        evaluator = Evaluator(evaluators)
        evaluator.dataset_meta = dict(classes=POTSDAM_CLASSES)
        evaluator.process(samples, {})
        return evaluator.evaluate(len(samples))

    alone = [scores(consistency_evaluators(ref)) for ref in refs]
    # two differently initialised readers read the images differently
    assert alone[0]['consistency_mIoU'] != alone[1]['consistency_mIoU']
    both = scores(consistency_evaluators({'seed0': refs[0],
                                          'seed1': refs[1]}))
    assert set(both) == {f'{n}/{k}' for n in ('seed0', 'seed1')
                         for k in alone[0]}
    for i, one in enumerate(alone):
        for key, value in one.items():
            assert both[f'seed{i}/{key}'] == pytest.approx(value, nan_ok=True)
    for wrong, named in (({}, 'no segmentor'),
                         ({'seed0': 'c.py'}, "'seed0'"),
                         ({'checkpoint': 'c.pth'}, "'checkpoint'"),
                         ({0: refs[0]}, '0')):
        with pytest.raises(ValueError, match=f'several as.*{named}'):
            consistency_evaluators(wrong)


class HandMadeChecker:
    """Predicts the hand-made map whose index is the image's first pixel."""

    def __init__(self, preds):
        self.preds = preds

    def predict(self, images):
        pred = np.stack([self.preds[int(i[0, 0, 0])] for i in images])
        return pred, np.ones(pred.shape, np.float32)


def metric_scores(metric, checker, image, mask):
    """``MaskImageConsistencyMetric``'s scores of one sample read by
    ``checker``."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    metric.checker = checker
    metric.results = []
    sample = SegDataSample(metainfo=dict(image=image))
    sample.gt_sem_seg = PixelData(data=torch.from_numpy(mask)[None])
    metric.process({}, [sample.to_dict()])
    return metric.compute_metrics(metric.results)


def test_consistency_scores_hand_made_masks_with_known_iou(reference):
    """IoU counted by hand: class 0 2/4, class 1 3/5, class 2 in neither
    (NaN, left out of the mean); the mask's ignore pixel does not count.
    Swapping prediction and mask gives class 0 2/5, so a swapped argument
    or an ignore bug fails; so does a swapped recall and precision."""
    from dldm_mmseg.experiments.analysis import images_consistency
    classes = ('a', 'b', 'c')
    masks = [np.array([[0, 0, 1, 1], [0, 255, 1, 1]])]
    preds = [np.array([[0, 1, 1, 1], [0, 0, 0, 1]])]
    images = [np.zeros((2, 4, 3), np.uint8)]
    checker = HandMadeChecker(preds)
    expected = {'consistency_IoU.a': 50.0, 'consistency_IoU.b': 60.0}
    result = images_consistency(checker, images, masks, classes)
    assert {k: result[k] for k in expected} == pytest.approx(expected)
    assert np.isnan(result['consistency_IoU.c'])
    assert result['consistency_mIoU'] == pytest.approx(55.0)
    # the val-loop metric counts the same from samples
    metric = METRICS.build(dict(type='MaskImageConsistencyMetric',
                                config=reference[0], checkpoint=reference[1],
                                device='cpu'))
    metric.dataset_meta = dict(classes=classes)
    scores = metric_scores(metric, checker, images[0], masks[0])
    assert {k: scores[k] for k in expected} == pytest.approx(expected)
    assert scores['consistency_mIoU'] == pytest.approx(55.0)
    swapped = images_consistency(HandMadeChecker([masks[0]]), images,
                                 preds, classes)
    assert swapped['consistency_IoU.a'] == pytest.approx(40.0)
    # which way: 3 mask pixels of a, 1 read as a; b read on 3 pixels, 1
    # of them b in the mask
    mask, pred = np.array([[0, 0, 0, 1]]), np.array([[0, 1, 1, 1]])
    one_way = dict(a=(100 / 3, 100.0), b=(100.0, 100 / 3))  # recall, prec.
    for result in (
            images_consistency(HandMadeChecker([pred]),
                               [np.zeros((1, 4, 3), np.uint8)], [mask],
                               classes),
            metric_scores(metric, HandMadeChecker([pred]),
                          np.zeros((1, 4, 3), np.uint8), mask)):
        for c, (recall, precision) in one_way.items():
            assert result[f'consistency_recall.{c}'] == pytest.approx(recall)
            assert result[f'consistency_precision.{c}'] == \
                pytest.approx(precision)
        assert np.isnan(result['consistency_recall.c'])


def test_stage2_val_loop_reports_consistency_and_test_tool_agrees(
        data, reference, tmp_path):
    records, metrics = train_validate_then_test(
        tmp_path, IMAGE_VAL_CFG, data, 'image_tiny_val', f"""
model.update(gradient_checkpointing=False)
reference = dict(config={reference[0]!r}, checkpoint={reference[1]!r})
val_evaluator = [dict(type='MaskImageConsistencyMetric', device='cpu',
                      **reference)]
test_evaluator = val_evaluator
""")
    val = [r for r in records if 'consistency_mIoU' in r]
    assert len(val) == 1 and 'consistency_IoU.car' in val[0]
    # the same weights, masks and seeds give the same images and score
    assert metrics['consistency_mIoU'] == pytest.approx(
        val[0]['consistency_mIoU'], abs=1e-3)
