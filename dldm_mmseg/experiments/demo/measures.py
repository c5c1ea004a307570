"""What the demo measures on its generators and synthetic set: stage-1
mCPE, its baselines and floor, mask-image consistency and FID."""
import json
import os.path as osp
from typing import List, Optional

from diffusers import AutoencoderKL
from mmengine.runner import Runner

from dldm_mmseg.datasets.synth_layout import IMG_DIR, MANIFEST
from dldm_mmseg.engine.hooks import Stage2FigureHook
from dldm_mmseg.evaluation.consistency import (ConsistencyChecker,
                                               real_pairs,
                                               vae_reconstructions)
from dldm_mmseg.evaluation.fid import (fid_between_folders,
                                       find_inception_weights)
from dldm_mmseg.evaluation.share_baselines import \
    share_baselines_from_captions
from dldm_mmseg.experiments.alpha_sweep import (config_digest, finished_run,
                                                reuse_or_run, run_mIoU)
from dldm_mmseg.experiments.analysis import (consistency_miou,
                                             images_consistency)
from dldm_mmseg.experiments.demo.settings import ONEHOT_VAE
from dldm_mmseg.experiments.demo_datasets import CAPTIONS
from dldm_mmseg.models.vae_fitting import vae_round_trip
from dldm_mmseg.utils.config import load_run_config
from dldm_mmseg.utils.hashing import folder_hash
from dldm_mmseg.utils.io import read_jsonl
from dldm_mmseg.utils.source_dataset import source_dataset_defaults


def mask_cpe(demo, seed: Optional[int] = None,
             split: str = 'test') -> dict:
    """mCPE of each stage-1 model on the shares of the test scenes
    (held out from training and from every choice of settings), or of
    the val scenes (what settings are chosen by): its config's test
    loop (the val loop of training, pointed at the split's captions) on
    its exported weights, the ones synthesis uses."""
    return {name: mask_config_cpe(demo, config, seed, split)
            for name, config in demo.mask_configs.items()}


def mask_config_cpe(demo, config: str, seed: Optional[int] = None,
                    split: str = 'test') -> dict:
    """:func:`mask_cpe` of one stage-1 config (relative to the demo's
    root) trained in the demo's work dir, also one the demo does not
    list."""
    folder = 'test' if split == 'test' else f'test_{split}'
    options = dict(demo.generator_options(config), **{
        'test_dataloader.dataset.captions': CAPTIONS[split]})
    return score_mask_export(
        osp.join(demo.root, config), options,
        demo.export_dir(config, seed),
        osp.join(demo.run_dir(config, seed), folder),
        f'demo_{folder}_{osp.basename(config)}'
        f'{demo.seed_suffix(seed)}_{demo.stamp}', demo.s['steps'])


def score_mask_export(config: str, options: dict, export: str,
                      work_dir: str, name: str, steps: int) -> dict:
    """A stage-1 export's mCPE: its config's test loop (``options`` over
    it, sampling ``steps`` steps) on the exported weights, reused from
    ``work_dir`` when config and export are the same; ``name`` is the
    experiment's."""
    cfg = load_run_config(config, options, work_dir=work_dir,
                          format_python_code=False)
    cfg.model.inference_cfg.steps = steps
    return _cached_export_test(cfg, export, name)


def mask_floor(demo) -> dict:
    """The mask VAE's round trip of the test scenes' masks (drawn,
    encoded, decoded, quantised): the floor of stage-1 mCPE; with
    --onehot-masks, that of the one-hot mask VAE under ``onehot``."""
    def round_trip(folder):
        vae = AutoencoderKL.from_pretrained(folder).float()
        return vae_round_trip(vae, demo.data_root, demo.data.source_dataset,
                              splits=('test',))

    floor = round_trip(demo.vaes['masks'])
    if ONEHOT_VAE[0] in demo.vaes:
        floor['onehot'] = round_trip(demo.vaes[ONEHOT_VAE[0]])
    return floor


def share_baselines(demo, split: str = 'test') -> dict:
    """mCPE on the split's prompts of two generators that ignore them:
    every mask at the mean train shares, and a random real train
    mask."""
    return share_baselines_from_captions(
        osp.join(demo.data_root, CAPTIONS['train']),
        osp.join(demo.data_root, CAPTIONS[split]), demo.classes)


def consistency(demo) -> dict:
    """Mask-image consistency of the synthetic set: mIoU of the
    real-only (alpha = 0) segmentor of ``--seed`` on the synthetic
    images against their masks; of stage 2 alone, on the test scenes'
    masks (and on the val scenes' masks, ``real_val_masks_*``, for
    choosing stage-2 settings without test); and that segmentor's mIoU on
    the real test (val) images, which they are read against
    (``*_fraction``)."""
    run_dir = osp.join(demo.work, 'sweep', 'alpha_0')
    reference = finished_run(run_dir, demo.data.configs['sweep'])
    checker = ConsistencyChecker(**reference, device='cpu')
    ids = [r['id'] for r in synthetic_records(demo.syn_root)]
    result = consistency_miou(demo.syn_root, checker, ids, demo.classes)
    result.update({'real_masks_' + k: v for k, v in
                   stage2_on_real_masks(demo, reference).items()})
    result.update({'real_val_masks_' + k: v for k, v in
                   stage2_on_real_masks(demo, reference, 'val').items()})
    real = run_mIoU(run_dir)
    result.update(real_images_mIoU=real['test'],
                  real_val_images_mIoU=real['val'])
    for key, real in (('consistency_mIoU', 'real_images_mIoU'),
                      ('real_masks_consistency_mIoU', 'real_images_mIoU'),
                      ('real_val_masks_consistency_mIoU',
                       'real_val_images_mIoU')):
        result[key.replace('mIoU', 'fraction')] = result[key] / result[real]
    result.update(vae_ceiling(demo, checker))
    return result


def vae_ceiling(demo, checker) -> dict:
    """Stage 2's ceiling: the real-only segmentor's mIoU on the test images
    after a round trip through the image VAE, which stage 2 draws through
    (``vae_ceiling_mIoU``), and as a fraction of its mIoU on the same
    images without it, read the same way (``vae_ceiling_fraction``)."""
    reduce_zero_label = source_dataset_defaults(
        demo.data.source_dataset)['reduce_zero_label']
    images, masks = real_pairs(demo.data_root, 'test', reduce_zero_label,
                               10 ** 6)
    vae = AutoencoderKL.from_pretrained(demo.vaes['images']).float()
    ceiling = images_consistency(checker, vae_reconstructions(vae, images),
                                 masks, demo.classes)['consistency_mIoU']
    direct = images_consistency(checker, images, masks,
                                demo.classes)['consistency_mIoU']
    return dict(vae_ceiling_mIoU=ceiling, vae_ceiling_fraction=ceiling /
                direct)


def stage2_on_real_masks(demo, reference: dict, split: str = 'test') -> dict:
    """Stage 2 alone, so the figure does not depend on stage 1's masks:
    :func:`paint_real_masks` with the demo's stage 2, sampled as
    synthesis samples; with ``split='test'`` the first 8 scenes also go
    to ``stage2_real_masks.png``."""
    synth = demo.synthesis_cfg()
    image = demo.image_config
    hooks = [Stage2FigureHook(osp.join(demo.work, 'stage2_real_masks.png'))
             ] if split == 'test' else []
    return paint_real_masks(
        osp.join(demo.root, image), demo.generator_options(image),
        demo.export_dir(image), demo.data_root, demo.data.source_dataset,
        split, synth, reference,
        osp.join(demo.run_dir(image), 'test' if split == 'test' else
                 f'real_{split}_masks'),
        f'demo_{split}_stage2_{demo.stamp}', hooks)


def paint_real_masks(config: str, options: dict, export: str,
                     data_root: str, source_dataset, split: str,
                     synthesis: dict, reference: dict, work_dir: str,
                     name: str, hooks=()) -> dict:
    """A stage-2 export painting the held-out ``split`` scenes' masks and
    captions: its config's test loop, scored by
    ``MaskImageConsistencyMetric`` with the real-only segmentor
    ``reference`` (what ``configs/generators/image_controlnet_potsdam_val.py``
    validates). Reused from ``work_dir`` when config and export are the
    same.

    Args:
        config (str): The stage-2 config, with ``options`` over it.
        export (str): Its exported weights.
        data_root (str): The real set, with the split's captions
            (:data:`~dldm_mmseg.experiments.demo_datasets.CAPTIONS`).
        synthesis (dict): The synth config's ``synthesis`` settings; the
            images are sampled as its ``image_sampling`` and prompted as
            its ``image_prompt``.
        reference (dict): ``config`` and ``checkpoint`` of the segmentor,
            or several such dicts by name: each reads the same images
            (see :func:`consistency_evaluators`).
        name (str): The experiment's name.
        hooks: Extra hooks (a figure).
    """
    sampling = {k: v for k, v in synthesis['image_sampling'].items()
                if k in ('steps', 'guidance_scale', 'scheduler')}
    cfg = load_run_config(config, options, work_dir=work_dir,
                          format_python_code=False)
    cfg.model.inference_cfg.update(sampling)
    cfg.test_dataloader = dict(
        batch_size=16, num_workers=0, persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'),
        dataset=dict(type='MaskCaptionDataset', data_root=data_root,
                     captions=CAPTIONS[split],
                     source_dataset=source_dataset,
                     prompt_order=synthesis['image_prompt'], augment=False,
                     load_image=True))  # the real images, for the figure
    cfg.test_evaluator = consistency_evaluators(reference)
    cfg.test_cfg = dict(type='TestLoop')
    return _cached_export_test(cfg, export, name, *hooks)


def consistency_evaluators(reference: dict) -> List[dict]:
    """``MaskImageConsistencyMetric`` configs reading the same painted
    images: one for ``reference`` (``config`` and ``checkpoint`` of a
    segmentor), or one per named reference of ``{name: reference}``, its
    metrics prefixed ``<name>/``.

    Raises:
        ValueError: When ``reference`` is neither.
    """
    if 'config' in reference:
        return [dict(type='MaskImageConsistencyMetric', device='cpu',
                     **reference)]
    wrong = [name for name, one in reference.items()
             if not isinstance(name, str) or not isinstance(one, dict)
             or 'config' not in one]
    if wrong or not reference:
        raise ValueError(
            'reference: give one segmentor as dict(config=..., '
            'checkpoint=...) or several as {name: dict(config=..., '
            'checkpoint=...)} with string names; ' +
            (f'these entries are neither: {wrong!r}' if wrong else
             'got no segmentor'))
    return [dict(type='MaskImageConsistencyMetric', device='cpu',
                 prefix=name, **one) for name, one in reference.items()]


def paint_splits(config: str, export: str, data_root: str, source_dataset,
                 synthesis: dict, reference: dict, real_mIoU: dict,
                 work_dir: str, name: str) -> dict:
    """:func:`paint_real_masks` on the val and test scenes, each result
    with ``fraction``: its consistency mIoU over the segmentor's mIoU on
    that split's real images (``real_mIoU``, as
    :func:`~dldm_mmseg.experiments.alpha_sweep.run_mIoU` reads it).
    ``work_dir`` and ``name`` are formatted with ``split``; returns
    ``{split: result}``."""
    scores = {}
    for split in ('val', 'test'):
        result = paint_real_masks(
            config, {}, export, data_root, source_dataset, split, synthesis,
            reference, work_dir.format(split=split), name.format(split=split))
        result['fraction'] = result['consistency_mIoU'] / real_mIoU[split]
        print(name.format(split=split), json.dumps(result), flush=True)
        scores[split] = result
    return scores


def fid(demo):
    """FID between real and synthetic training images, or None when the
    Inception weights are not installed."""
    try:
        find_inception_weights()
    except FileNotFoundError as e:
        print(f'FID skipped: {e}')
        return None
    return fid_between_folders(
        osp.join(demo.data_root, 'img_dir', 'train'),
        osp.join(demo.syn_root, IMG_DIR))


def _cached_export_test(cfg, export: str, name: str, *hooks) -> dict:
    """:func:`_test_export` named ``name``, reused from ``cfg.work_dir``
    when its test config and the exported weights it loads are the
    same."""
    cfg.experiment_name = name
    cfg.visualizer.name = f'visualizer_{name}'
    return reuse_or_run(cfg.work_dir, _test_export, cfg, export, *hooks,
                        identity=dict(config=config_digest(cfg),
                                      export=folder_hash(export)))


def _test_export(cfg, export: str, *hooks) -> dict:
    """A generator config's test loop on exported weights (what synthesis
    uses: EMA weights where the config keeps them), with extra ``hooks``."""
    runner = Runner.from_cfg(cfg)
    runner.model.load_export(export)
    for hook in hooks:
        runner.register_hook(hook)
    return {k: float(v) for k, v in runner.test().items()}


def synthetic_records(out_dir: str) -> List[dict]:
    """The manifest records of the synthetic set in ``out_dir``."""
    return read_jsonl(osp.join(out_dir, MANIFEST))
