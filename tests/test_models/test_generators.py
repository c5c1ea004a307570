"""Stage 1 and 2 generators with the tiny preset, on CPU."""
import glob
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from torch.utils.data import default_collate

from mmseg.registry import DATASETS, MODELS
from dldm_mmseg.datasets.captioning import write_captions
from dldm_mmseg.models.generators.share_conditioning import \
    SHARE_EMBEDDING_FILE
from fixtures import POTSDAM_CLASSES, load_tool, make_seg_dataset

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# the paper's stage 1 (every loss term); the project's default adds the
# share vector and drops L_prop
MASK_CFG = osp.join(ROOT, 'configs', 'generators',
                    'mask_lora_potsdam_paper.py')
DEFAULT_MASK_CFG = osp.join(ROOT, 'configs', 'generators',
                            'mask_lora_potsdam.py')
IMAGE_CFG = osp.join(ROOT, 'configs', 'generators',
                     'image_controlnet_potsdam.py')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = make_seg_dataset(str(tmp_path_factory.mktemp('gen') / 'real'),
                            num_train=4, num_val=0, size=32)
    write_captions(root, POTSDAM_CLASSES, True, 'img_dir/train',
                   'ann_dir/train')
    return root


def cfg_options(data_root, epochs=1):
    return {
        'model.components': dict(_delete_=True, preset='tiny'),
        'model.lora_rank': 4,
        'model.frozen_dtype': None,
        'train_dataloader.dataset.data_root': data_root,
        'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        # stage 1 validates on held-out captions; the fixture has none, and
        # val_interval (5 epochs) is past these runs: point at the train set
        'val_dataloader.dataset.data_root': data_root,
        'val_dataloader.dataset.captions': 'captions.jsonl',
        'val_dataloader.num_workers': 0,
        'optim_wrapper': dict(_delete_=True, type='OptimWrapper',
                              optimizer=dict(type='AdamW', lr=1e-3)),
        'train_cfg.max_epochs': epochs,
        'env_cfg.dist_cfg.backend': 'gloo',
        'custom_hooks': [dict(type='GeneratorExportHook'),
                         dict(type='GeneratorSampleHook', interval=2,
                              num_samples=2, steps=2)],
    }


def build(config, data_root, **overrides):
    cfg = Config.fromfile(config)
    options = cfg_options(data_root)
    if 'controlnet' in config:
        for key in [k for k in options if k.startswith(('model.lora_rank',
                                                        'val_'))]:
            options.pop(key)
    cfg.merge_from_dict(options)
    cfg.model.update(overrides)
    return MODELS.build(cfg.model), cfg


def saved_tiny_sd(folder):
    """The tiny preset saved as a pretrained Stable Diffusion folder."""
    from dldm_mmseg.models.generators import build_sd_components
    sd = build_sd_components(preset='tiny')
    for name in ('unet', 'vae', 'text_encoder', 'tokenizer'):
        getattr(sd, name).save_pretrained(osp.join(folder, name))
    sd.scheduler.save_pretrained(osp.join(folder, 'scheduler'))
    return folder


def batch_of(data_root, load_image=False, n=2):
    ds = DATASETS.build(dict(type='MaskCaptionDataset', data_root=data_root,
                             source_dataset='PotsdamDataset',
                             load_image=load_image, augment=False))
    return default_collate([ds[i] for i in range(n)])


@pytest.mark.parametrize('config', [MASK_CFG, DEFAULT_MASK_CFG, IMAGE_CFG])
def test_train_through_runner_export_and_checkpoint(config, data, tmp_path):
    cfg = Config.fromfile(config)
    options = cfg_options(data)
    if 'controlnet' in config:
        for key in [k for k in options if k.startswith(('model.lora_rank',
                                                        'val_'))]:
            options.pop(key)
    cfg.merge_from_dict(options)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.visualizer.name = f'visualizer_{tmp_path.name}'  # one per runner
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2  # 4 patches, batch 2, 1 epoch
    # the checkpoint holds the trainable weights only
    ckpt = torch.load(osp.join(cfg.work_dir, 'epoch_1.pth'),
                      weights_only=False)['state_dict']
    model = runner.model
    trainable = set(model.trainable_parameters())
    assert set(ckpt) == trainable
    frozen = sum(p.numel() for n, p in model.named_parameters()
                 if n not in trainable)
    assert sum(v.numel() for v in ckpt.values()) < frozen / 4
    exported = os.listdir(osp.join(cfg.work_dir, 'export', 'final'))
    if 'controlnet' in config:
        assert {'config.json', 'diffusion_pytorch_model.safetensors'} <= \
            set(exported)
    else:
        assert 'pytorch_lora_weights.safetensors' in exported
        # the default's share projection is trained beside the LoRA and
        # exported with it
        assert (SHARE_EMBEDDING_FILE in exported) == (
            config == DEFAULT_MASK_CFG)
    assert osp.isdir(osp.join(cfg.work_dir, 'export', 'iter_2'))
    grids = glob.glob(osp.join(cfg.work_dir, '*', 'vis_data', 'vis_image',
                               'generator_samples_*.png'))
    assert grids, 'sample grid was not written'


def test_resume_gives_the_uninterrupted_run(data, tmp_path):
    """One epoch, then a resumed second, equals two epochs in one go: LoRA
    weights, their EMA and the optimizer's moments (RandomStateHook puts
    the noise draws back where they were)."""
    train = load_tool('train')
    config = tmp_path / 'mask_tiny.py'
    config.write_text(f"""_base_ = [{MASK_CFG!r}]
model = dict(components=dict(_delete_=True, preset='tiny'), lora_rank=4,
             frozen_dtype=None, ema_decay=0.9)
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root={data!r}))
val_dataloader = dict(num_workers=0, dataset=dict(data_root={data!r},
                                                  captions='captions.jsonl'))
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
custom_hooks = [dict(type='RandomStateHook')]
visualizer = dict(name='visualizer_resume')
""")

    def run(work, epochs, *extra):
        runner = train.main([str(config), '--work-dir', str(tmp_path / work),
                             *extra, '--cfg-options',
                             f'train_cfg.max_epochs={epochs}',
                             f'visualizer.name=vis_{work}_{epochs}'])
        model = runner.model
        state = {k: v.clone() for k, v in
                 model.trainable_parameters().items()}
        state.update({f'ema.{k}': model.ema.shadow(k).clone()
                      for k in model.trainable_parameters()})
        optim = runner.optim_wrapper.optimizer.state_dict()['state']
        state.update({f'optim.{i}.{k}': v.clone()
                      for i, s in optim.items() for k, v in s.items()})
        return runner, state

    _, whole = run('whole', 2)
    run('parts', 1)
    runner, parts = run('parts', 2, '--resume')
    assert runner.iter == 4 and runner.epoch == 2
    log = open(sorted(glob.glob(str(tmp_path / 'parts' / '*' /
                                    '*.log')))[-1]).read()
    assert 'resumed epoch: 1, iter: 2' in log
    assert 'missing keys' not in log  # frozen weights are not reported
    assert whole.keys() == parts.keys()
    assert any(k.startswith('ema.') for k in whole)
    assert any(k.startswith('optim.') and k.endswith('exp_avg_sq')
               for k in whole)
    different = [k for k in whole if not torch.equal(whole[k], parts[k])]
    assert not different, different[:5]


def test_loss_falls_when_overfitting(data):
    model, _ = build(MASK_CFG, data, lora_rank=8, x0_weighting='none')
    batch = batch_of(data, n=2)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad],
                           lr=1e-2)

    def losses_on_training_draws():
        """Mean loss terms over the 4 noise draws the model trains on."""
        total = {}
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            for seed in range(4):
                torch.manual_seed(seed)
                for key, value in model(**batch).items():
                    total[key] = total.get(key, 0.0) + value.item() / 4
        return total

    before = losses_on_training_draws()
    for step in range(60):
        torch.manual_seed(step % 4)
        loss = sum(model(**batch).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = losses_on_training_draws()
    # the tiny model plateaus near 0.91x in 60-100 steps (0.90-0.92 over
    # noise draws); without a working gradient the ratio stays near 1
    assert sum(after.values()) < 0.95 * sum(before.values())
    assert after['loss_ce'] < before['loss_ce']
    assert after['loss_prop'] < before['loss_prop']


def test_proportion_loss_sends_gradient_into_lora(data):
    model, _ = build(MASK_CFG, data, ce_weight=0.0, prop_weight=1.0,
                     x0_weighting='none')
    batch = batch_of(data)
    torch.manual_seed(0)
    model(**batch)['loss_prop'].backward()
    grads = {n: p.grad for n, p in model.trainable_parameters().items()}
    lora_b = [g for n, g in grads.items() if 'lora_B' in n]
    assert lora_b and all(g is not None for g in lora_b)
    assert sum(g.abs().sum() for g in lora_b) > 0
    # the frozen parts get none
    assert all(p.grad is None for n, p in model.named_parameters()
               if not p.requires_grad)


def test_default_stage1_config_feeds_the_shares_and_drops_l_prop(data):
    cfg = Config.fromfile(DEFAULT_MASK_CFG)
    paper = Config.fromfile(MASK_CFG)
    assert cfg.model.prop_weight == 0 and paper.model.prop_weight == 0.5
    assert cfg.model.ce_weight == paper.model.ce_weight == 0.5
    cfg.merge_from_dict(cfg_options(data))
    model = MODELS.build(cfg.model)
    assert model.unet.config.class_embed_type == 'projection'
    losses = model(**batch_of(data))
    assert 'loss_prop' not in losses and 'loss_ce' in losses
    # every other setting is the paper's
    for config in (cfg, paper):
        config.model.pop('share_conditioning', None)
        config.model.pop('prop_weight')
    paper.merge_from_dict(cfg_options(data))
    assert cfg.model == paper.model


def test_ce_only_ablation_config(data):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'generators',
                                   'mask_lora_potsdam_ce_only.py'))
    assert cfg.model.prop_weight == 0 and cfg.model.ce_weight == 0.5
    cfg.merge_from_dict(cfg_options(data))
    model = MODELS.build(cfg.model)
    losses = model(**batch_of(data))
    assert 'loss_prop' not in losses and 'loss_ce' in losses


def randomise_lora(model):
    with torch.no_grad():
        for name, param in model.trainable_parameters().items():
            param.copy_(torch.randn_like(param) * 0.3)


def test_mask_export_reloads_in_stock_pipeline(data, tmp_path):
    from diffusers import StableDiffusionPipeline
    from dldm_mmseg.models.generators import build_sd_components
    from dldm_mmseg.models.generators.components import inference_scheduler
    model, _ = build(MASK_CFG, data)
    randomise_lora(model)
    prompts = ['building: 60%, car: 40%', 'tree: 100%']
    ours = model.generate_masks(prompts, seeds=[7, 8], height=32, width=32,
                                steps=3, guidance_scale=3.0)
    export = model.export(str(tmp_path / 'lora'))
    parts = build_sd_components(preset='tiny')
    pipe = StableDiffusionPipeline(
        vae=parts.vae, text_encoder=parts.text_encoder,
        tokenizer=parts.tokenizer, unet=parts.unet,
        scheduler=inference_scheduler('dpmsolver++', parts.scheduler.config),
        safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)
    pipe.load_lora_weights(export)
    for i, (prompt, seed) in enumerate(zip(prompts, [7, 8])):
        stock = pipe(prompt, height=32, width=32, num_inference_steps=3,
                     guidance_scale=3.0, output_type='np',
                     generator=torch.Generator().manual_seed(seed)).images[0]
        stock = np.clip(np.round(stock * 255), 0, 255).astype(np.uint8)
        diff = np.abs(stock.astype(int) - ours['rgb'][i].astype(int))
        assert diff.max() <= 1
    # and the LoRA matters: without it the output differs
    pipe.unload_lora_weights()
    plain = pipe(prompts[0], height=32, width=32, num_inference_steps=3,
                 guidance_scale=3.0, output_type='np',
                 generator=torch.Generator().manual_seed(7)).images[0]
    assert np.abs(np.round(plain * 255) - ours['rgb'][0]).max() > 5


def test_controlnet_export_reloads_in_stock_pipeline(data, tmp_path):
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline
    from dldm_mmseg.models.generators import build_sd_components
    from dldm_mmseg.models.generators.components import inference_scheduler
    model, _ = build(IMAGE_CFG, data)
    randomise_lora(model)  # any non-trivial ControlNet weights
    masks = np.random.default_rng(0).integers(0, 6, (2, 32, 32))
    ours = model.generate_images(masks, ['an aerial image'] * 2, [3, 4],
                                 steps=3, guidance_scale=2.0)
    export = model.export(str(tmp_path / 'controlnet'))
    parts = build_sd_components(preset='tiny')
    pipe = StableDiffusionControlNetPipeline(
        vae=parts.vae, text_encoder=parts.text_encoder,
        tokenizer=parts.tokenizer, unet=parts.unet,
        controlnet=ControlNetModel.from_pretrained(export),
        scheduler=inference_scheduler('dpmsolver++', parts.scheduler.config),
        safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)
    condition = model.condition_images(masks)
    stock = pipe('an aerial image', image=condition[1:2], height=32,
                 width=32, num_inference_steps=3, guidance_scale=2.0,
                 output_type='np',
                 generator=torch.Generator().manual_seed(4)).images[0]
    stock = np.clip(np.round(stock * 255), 0, 255).astype(np.uint8)
    assert np.abs(stock.astype(int) - ours[1].astype(int)).max() <= 1


def test_seeds_are_batch_invariant(data):
    model, _ = build(MASK_CFG, data)
    randomise_lora(model)
    prompts = ['building: 50%, tree: 50%', 'car: 100%', 'tree: 100%']
    one = model.generate_masks(prompts, [5, 6, 7], height=32, width=32,
                               steps=3, batch_size=1)
    three = model.generate_masks(prompts, [5, 6, 7], height=32, width=32,
                                 steps=3, batch_size=3)
    shuffled = model.generate_masks(prompts[::-1], [7, 6, 5], height=32,
                                    width=32, steps=3, batch_size=2)
    assert np.abs(one['rgb'].astype(int) - three['rgb']).max() <= 1
    assert np.abs(one['rgb'][::-1].astype(int) - shuffled['rgb']).max() <= 1
    assert not np.array_equal(one['rgb'][0], one['rgb'][1])
    # classes, or 255 where the mask is drawn in the reserved ignore colour
    assert (set(np.unique(one['labels']))
            <= set(range(len(POTSDAM_CLASSES))) | {255})
    image_model, _ = build(IMAGE_CFG, data)
    images1 = image_model.generate_images(one['labels'], prompts, [5, 6, 7],
                                          steps=2, batch_size=1)
    images3 = image_model.generate_images(one['labels'], prompts, [5, 6, 7],
                                          steps=2, batch_size=3)
    assert np.abs(images1.astype(int) - images3).max() <= 1
    # share prompts are checked before any sampling, naming the prompt
    for bad, message in (('building: 80%, tree: 50%', 'sum to 130%'),
                         ('forest: 20%', "unknown class 'forest'"),
                         ('tree: 20%, car: x%. An aerial image',
                          'cannot parse')):
        with pytest.raises(ValueError, match=f'prompt 1 .*{message}'):
            model.generate_masks(['tree: 100%', bad], [1, 2], height=32,
                                 width=32, steps=1)


def test_v_prediction_and_ema(data):
    model, _ = build(MASK_CFG, data, ema_decay=0.5,
                     components=dict(preset='tiny',
                                     prediction_type='v_prediction'))
    assert model.noise_scheduler.config.prediction_type == 'v_prediction'
    latents = torch.randn(2, 4, 8, 8)
    noise = torch.randn_like(latents)
    t = torch.tensor([10, 900])
    noisy = model.noise_scheduler.add_noise(latents, noise, t)
    v = model.diffusion_target(latents, noise, t)
    assert torch.allclose(model.predict_x0(noisy, v, t), latents, atol=1e-4)
    # EMA: shadow moves toward the weights, is in the state dict, and is
    # what gets exported
    from mmengine.optim import OptimWrapper
    wrapper = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=1.0))
    name, param = next((n, p) for n, p in model.trainable_parameters().items()
                       if 'lora_B' in n)  # lora_A has no gradient at init
    before = model.ema.shadow(name).clone()
    model.train_step(batch_of(data), wrapper)
    expected = 0.5 * before + 0.5 * param.detach()
    assert torch.allclose(model.ema.shadow(name), expected, atol=1e-6)
    # an accumulation iteration (no optimizer step) leaves the shadow alone
    accumulating = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=1.0),
        accumulative_counts=2)
    accumulating.initialize_count_status(model, 0, 10)
    kept = model.ema.shadow(name).clone()
    model.train_step(batch_of(data), accumulating)
    assert torch.equal(model.ema.shadow(name), kept)
    model.train_step(batch_of(data), accumulating)
    assert not torch.equal(model.ema.shadow(name), kept)
    assert f'ema.{name.replace(".", "__")}' in model.state_dict()
    with model.ema_weights():
        assert torch.equal(param, model.ema.shadow(name))
    assert not torch.equal(param, model.ema.shadow(name))
    # an export (the EMA weights) loaded into a fresh EMA model: sampling
    # uses the shadow, which must hold the loaded weights, not the
    # freshly built ones
    export = model.export(str(data) + '_ema_export')
    fresh, _ = build(MASK_CFG, data, ema_decay=0.5,
                     components=dict(preset='tiny',
                                     prediction_type='v_prediction'))
    fresh.load_export(export)
    fresh_param = fresh.trainable_parameters()[name]
    assert torch.allclose(fresh_param, model.ema.shadow(name))
    assert torch.equal(fresh.ema.shadow(name), fresh_param.detach().float())
    with torch.no_grad():
        a = model.generate_masks(['tree: 100%'], [3], height=32, width=32,
                                 steps=2)['rgb']
        b = fresh.generate_masks(['tree: 100%'], [3], height=32, width=32,
                                 steps=2)['rgb']
    assert np.abs(a.astype(int) - b).max() <= 1


def test_nan_loss_names_iteration_and_terms(data):
    model, _ = build(MASK_CFG, data)
    batch = batch_of(data)
    batch['mask'] = batch['mask'] * float('nan')
    with pytest.raises(FloatingPointError, match='loss_diffusion=nan'):
        model(**batch)


def test_fp16_overflow_steps_are_skipped_by_the_loss_scaler(
        data, monkeypatch):
    """Under a loss scaler a non-finite step is skipped (weights kept,
    scale lowered, counted in the log) instead of ending the run, until
    max_nonfinite_steps come in a row; without one the first stops it."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    monkeypatch.setattr(amp, 'is_cuda_available', lambda: True)
    model, _ = build(MASK_CFG, data, max_nonfinite_steps=2)
    params = [p for p in model.parameters() if p.requires_grad]
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(params, lr=0.1),
                              loss_scale='dynamic')
    wrapper.loss_scaler = torch.amp.GradScaler('cpu')  # a CPU fp16 run
    good = batch_of(data)
    bad = dict(good, mask=good['mask'] * float('nan'))  # forced overflow

    def weights():
        return [p.detach().clone() for p in params]

    before, scale = weights(), wrapper.loss_scaler.get_scale()
    for step in (1, 2):
        log_vars = model.train_step(bad, wrapper)
        assert log_vars['skipped_steps'] == step
        assert all(torch.equal(a, b) for a, b in zip(before, weights()))
        assert wrapper.loss_scaler.get_scale() == scale / 2 ** step
    model.train_step(good, wrapper)  # a finite step trains and resets
    assert not all(torch.equal(a, b) for a, b in zip(before, weights()))
    model.train_step(bad, wrapper)
    model.train_step(bad, wrapper)
    with pytest.raises(FloatingPointError,
                       match=r'3 steps in a row; the loss scaler skipped the '
                       r'first 2\).*loss_diffusion=nan'):
        model.train_step(bad, wrapper)
    with pytest.raises(ValueError, match='max_nonfinite_steps must be >= 0'):
        build(MASK_CFG, data, max_nonfinite_steps=-1)
    plain = OptimWrapper(optimizer=torch.optim.SGD(params, lr=0.1))
    model.nonfinite_in_a_row = 0
    with pytest.raises(FloatingPointError, match=r'iteration \S+: '
                       'loss_diffusion=nan'):
        model.train_step(bad, plain)


def test_missing_weights_folder_names_layout(tmp_path):
    from dldm_mmseg.models.generators import build_sd_components
    with pytest.raises(FileNotFoundError, match='does not exist.*unet/'
                       'config.json'):
        build_sd_components(pretrained=str(tmp_path / 'sd15'))
    (tmp_path / 'sd15' / 'unet').mkdir(parents=True)
    (tmp_path / 'sd15' / 'unet' / 'config.json').write_text('{}')
    with pytest.raises(FileNotFoundError, match='incomplete: missing vae/'):
        build_sd_components(pretrained=str(tmp_path / 'sd15'))


def test_local_folder_round_trip(tmp_path):
    """A diffusers-layout folder written from a preset loads back offline
    with the same weights and tokenizer ids."""
    from dldm_mmseg.models.generators import build_sd_components
    parts = build_sd_components(preset='tiny')
    folder = tmp_path / 'sd'
    parts.unet.save_pretrained(folder / 'unet')
    parts.vae.save_pretrained(folder / 'vae')
    parts.text_encoder.save_pretrained(folder / 'text_encoder')
    parts.tokenizer.save_pretrained(folder / 'tokenizer')
    parts.scheduler.save_pretrained(folder / 'scheduler')
    loaded = build_sd_components(pretrained=str(folder),
                                 prediction_type='v_prediction')
    assert loaded.scheduler.config.prediction_type == 'v_prediction'
    for a, b in zip(parts.unet.parameters(), loaded.unet.parameters()):
        assert torch.equal(a, b)
    text = 'building: 30%, car: 5%'
    assert loaded.tokenizer(text).input_ids == parts.tokenizer(text).input_ids
    assert parts.tokenizer(text).input_ids[0] == 49406


@pytest.mark.parametrize('config', [MASK_CFG, IMAGE_CFG])
def test_half_precision_frozen_parts_keep_trainable_fp32(config, data):
    model, _ = build(config, data, frozen_dtype='bf16')
    assert model.vae.dtype == torch.bfloat16
    assert model.unet.dtype == torch.bfloat16
    trainable = model.trainable_parameters()
    assert all(p.dtype == torch.float32 for p in trainable.values())
    # a step works without autocast too: inputs are cast per network
    batch = batch_of(data, load_image='controlnet' in config)
    torch.manual_seed(0)
    sum(model(**batch).values()).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in trainable.values())


def test_load_export_restores_outputs_and_rejects_mismatch(data, tmp_path):
    model, _ = build(MASK_CFG, data)
    randomise_lora(model)
    out = model.generate_masks(['tree: 100%'], [1], height=32, width=32,
                               steps=2)
    export = model.export(str(tmp_path / 'lora'))
    fresh, _ = build(MASK_CFG, data)
    fresh.load_export(export)
    again = fresh.generate_masks(['tree: 100%'], [1], height=32, width=32,
                                 steps=2)
    assert np.array_equal(out['rgb'], again['rgb'])
    other_rank, _ = build(MASK_CFG, data, lora_rank=8)
    with pytest.raises(ValueError, match='do not fit this model'):
        other_rank.load_export(export)
    with pytest.raises(FileNotFoundError, match='GeneratorExportHook'):
        fresh.load_export(str(tmp_path))

    image_model, _ = build(IMAGE_CFG, data)
    randomise_lora(image_model)
    masks = out['labels']
    images = image_model.generate_images(masks, ['x'], [2], steps=2)
    path = image_model.export(str(tmp_path / 'cn'))
    fresh_image, _ = build(IMAGE_CFG, data)
    fresh_image.load_export(path)
    assert np.array_equal(
        images, fresh_image.generate_images(masks, ['x'], [2], steps=2))


def test_fit_vae_reconstructs_better_and_loads_into_components(data,
                                                               tmp_path):
    from dldm_mmseg.models.generators import build_sd_components
    fit = load_tool('fit_vae')
    out = str(tmp_path / 'vae')
    result = fit.main([data, '--out', out, '--preset', 'tiny', '--iters',
                       '40', '--batch-size', '4', '--lr', '3e-3'])
    assert result['last'] < 0.85 * result['first']  # 0.75 measured
    # the reported accuracy is that of the saved VAE on the masks
    assert 0 < result['mask_pixel_accuracy'] <= 1
    parts = build_sd_components(preset='tiny', vae=out)
    fitted = parts.vae
    batch = batch_of(data, load_image=True, n=2)
    with torch.no_grad():
        random_vae = build_sd_components(preset='tiny').vae
        errors = [torch.nn.functional.mse_loss(
            v.decode(v.encode(batch['mask']).latent_dist.mode()).sample,
            batch['mask']).item() for v in (random_vae, fitted)]
    assert errors[1] < errors[0]
    model, _ = build(MASK_CFG, data,
                     components=dict(preset='tiny', vae=out))
    assert all(torch.equal(a, b) for a, b in zip(model.vae.parameters(),
                                                 fitted.parameters()))
    # the saved scaling factor gives unit-variance latents on this data
    assert fitted.config.scaling_factor == pytest.approx(
        result['scaling_factor'])
    with torch.no_grad():
        scaled = model.encode_pixels(torch.cat([batch['mask'],
                                                batch['image']]))
    assert 0.5 < scaled.std().item() < 2.0
    with pytest.raises(FileNotFoundError, match='no config.json'):
        build_sd_components(preset='tiny', vae=str(tmp_path))


def test_vae_per_stage_autoencodes_its_own_content(data, tmp_path):
    """A VAE fitted to masks reconstructs masks better than one fitted to
    images for as many steps, and the other way round: the demo gives each
    stage its own VAE, so neither generator can decode into the other's
    mode."""
    from dldm_mmseg.models.generators import build_sd_components
    fit = load_tool('fit_vae')
    results, vaes = {}, {}
    for content in ('masks', 'images'):
        out = str(tmp_path / content)
        results[content] = fit.main([
            data, '--out', out, '--preset', 'tiny', '--iters', '30',
            '--batch-size', '4', '--lr', '3e-3', '--content', content])
        vaes[content] = build_sd_components(preset='tiny', vae=out).vae
    assert results['images']['mask_pixel_accuracy'] is None
    assert 0 < results['masks']['mask_pixel_accuracy'] <= 1
    batch = batch_of(data, load_image=True, n=4)
    errors = {}
    with torch.no_grad():
        for content, vae in vaes.items():
            for key in ('mask', 'image'):
                recon = vae.decode(vae.encode(batch[key]).latent_dist.mode()
                                   ).sample
                errors[content, key] = torch.nn.functional.mse_loss(
                    recon, batch[key]).item()
    assert errors['masks', 'mask'] < errors['images', 'mask']
    assert errors['images', 'image'] < errors['masks', 'image']
    with pytest.raises(ValueError, match="content must be one of"):
        fit.fit_vae(data, str(tmp_path / 'x'), content='labels')


def test_full_finetune_modes_export_and_reload(data, tmp_path):
    """lora_rank=None trains the whole UNet (+ text encoder); ControlNet
    with train_unet trains its UNet too; both exports reload exactly."""
    model, _ = build(MASK_CFG, data, lora_rank=None, train_text_encoder=True)
    trainable = model.trainable_parameters()
    assert not any('lora' in n for n in trainable)
    assert sum(p.numel() for p in trainable.values()) == sum(
        p.numel() for p in model.unet.parameters()) + sum(
        p.numel() for p in model.text_encoder.parameters())
    assert set(model.state_dict()) == set(trainable)  # VAE left out
    randomise_lora(model)
    out = model.generate_masks(['tree: 100%'], [1], height=32, width=32,
                               steps=2)
    export = model.export(str(tmp_path / 'full'))
    assert {'unet', 'text_encoder'} <= set(os.listdir(export))
    fresh, _ = build(MASK_CFG, data, lora_rank=None, train_text_encoder=True)
    fresh.load_export(export)
    again = fresh.generate_masks(['tree: 100%'], [1], height=32, width=32,
                                 steps=2)
    assert np.array_equal(out['rgb'], again['rgb'])
    lora_model, _ = build(MASK_CFG, data)
    with pytest.raises(FileNotFoundError, match='GeneratorExportHook'):
        lora_model.load_export(export)  # a full export is no LoRA file
    with pytest.raises(FileNotFoundError, match='lora_rank=None'):
        fresh.load_export(str(tmp_path))
    with pytest.raises(ValueError, match='or None for full fine-tuning'):
        build(MASK_CFG, data, lora_rank=0)

    image_model, _ = build(IMAGE_CFG, data, train_unet=True)
    assert any(n.startswith('unet.') for n in
               image_model.trainable_parameters())
    image_model.train()
    assert image_model.unet.training and not image_model.vae.training
    randomise_lora(image_model)
    images = image_model.generate_images(out['labels'], ['x'], [2], steps=2)
    path = image_model.export(str(tmp_path / 'cn'))
    assert osp.isfile(osp.join(path, 'unet', 'config.json'))
    fresh_image, _ = build(IMAGE_CFG, data, train_unet=True)
    fresh_image.load_export(path)
    assert np.array_equal(images, fresh_image.generate_images(
        out['labels'], ['x'], [2], steps=2))
    locked, _ = build(IMAGE_CFG, data)
    locked.controlnet.save_pretrained(str(tmp_path / 'cn_only'))
    with pytest.raises(FileNotFoundError, match='train_unet=True'):
        fresh_image.load_export(str(tmp_path / 'cn_only'))


def test_x0_losses_decode_only_weighted_samples(data):
    """With x0_max_timestep, samples above it are not decoded, and the
    terms equal the kept sample's own terms over the batch size."""
    model, _ = build(MASK_CFG, data, x0_max_timestep=500,
                     x0_weighting='none')
    batch = batch_of(data, n=2)
    decoded = []
    decode = model.decode_latents

    def counting_decode(latents):
        decoded.append(latents.shape[0])
        return decode(latents)

    def fixed_noise(timesteps, seeds=(0, 1)):
        def add_noise(latents):
            noise = torch.stack([torch.randn(
                latents.shape[1:], generator=torch.Generator().manual_seed(s))
                for s in seeds[:latents.shape[0]]])
            t = torch.tensor(timesteps[:latents.shape[0]])
            return (model.noise_scheduler.add_noise(latents, noise, t),
                    noise, t)
        return add_noise

    model.decode_latents = counting_decode
    model.vae.encode = _mode_encoder(model.vae)  # deterministic latents
    with torch.no_grad():
        model.add_noise = fixed_noise([100, 900])
        pair = model(**batch)
        first = {k: v[:1] for k, v in batch.items()}
        single = model(**first)
        model.add_noise = fixed_noise([700, 900])
        none_kept = model(**batch)
    assert decoded == [1, 1]  # one sample each time, none for the last
    for key in ('loss_ce', 'loss_prop'):
        assert pair[key].item() == pytest.approx(single[key].item() / 2,
                                                 rel=1e-4, abs=1e-7)
        assert none_kept[key].item() == 0
    assert pair['loss_ce'].item() > 0

    # L_prop at every timestep: both samples decoded, CE still from the
    # first only, L_prop from both
    model.prop_timestep_weighting = False
    decoded.clear()
    with torch.no_grad():
        model.add_noise = fixed_noise([100, 900])
        both = model(**batch)
        second = {k: v[1:] for k, v in batch.items()}
        model.add_noise = fixed_noise([900], seeds=[1])
        late = model(**second)
    assert decoded == [2, 1]
    assert both['loss_ce'].item() == pytest.approx(pair['loss_ce'].item(),
                                                   rel=1e-4)
    assert late['loss_ce'].item() == 0 and late['loss_prop'].item() > 0
    assert both['loss_prop'].item() == pytest.approx(
        (2 * pair['loss_prop'].item() + late['loss_prop'].item()) / 2,
        rel=1e-4)

    # L_prop up to prop_max_timestep (800) while CE stops at 500: t = 700
    # gets L_prop only, t = 900 nothing
    model.prop_max_timestep = 800
    decoded.clear()
    with torch.no_grad():
        model.add_noise = fixed_noise([100, 700])
        mid = model(**batch)
        model.add_noise = fixed_noise([900], seeds=[1])
        beyond = model(**second)
    assert decoded == [2]
    assert mid['loss_ce'].item() == pytest.approx(pair['loss_ce'].item(),
                                                  rel=1e-4)
    assert mid['loss_prop'].item() > pair['loss_prop'].item()
    assert beyond['loss_prop'].item() == 0


def _mode_encoder(vae):
    """vae.encode whose latent_dist.sample() returns the mean."""
    encode = vae.encode

    def wrapped(pixels):
        out = encode(pixels)
        out.latent_dist.sample = lambda generator=None: out.latent_dist.mean
        return out
    return wrapped


def test_controlnet_without_zero_convolutions_sees_the_condition(data):
    from dldm_mmseg.models.generators.image_generator import \
        zero_initialised_convs
    batch = batch_of(data, load_image=True, n=2)

    def residuals(model, condition):
        latents = torch.zeros(1, 4, 8, 8)
        embeddings = model.encode_prompt([''])
        down, mid = model.controlnet(latents, torch.tensor([10]),
                                     encoder_hidden_states=embeddings,
                                     controlnet_cond=condition,
                                     return_dict=False)
        return torch.cat([r.flatten() for r in down] + [mid.flatten()])

    first, second = [(batch['mask'][i:i + 1] + 1) / 2 for i in range(2)]
    stock, _ = build(IMAGE_CFG, data)
    assert all(c.weight.abs().sum() == 0
               for c in zero_initialised_convs(stock.controlnet))
    with torch.no_grad():
        assert residuals(stock, first).abs().sum() == 0
        free, _ = build(IMAGE_CFG, data, zero_convolutions=False)
        assert all(c.weight.abs().sum() > 0
                   for c in zero_initialised_convs(free.controlnet))
        # from the first step, the residuals depend on the condition
        assert not torch.allclose(residuals(free, first),
                                  residuals(free, second))


def quick_vae(data, out, content, *options):
    """A tiny VAE fitted for two steps by ``tools/fit_vae.py`` on
    ``content`` with extra ``options``, saved in ``out``; returns ``out``."""
    load_tool('fit_vae').main([
        data, '--out', out, '--preset', 'tiny', '--iters', '2',
        '--batch-size', '2', '--content', content, *options])
    return out


def test_wider_latents_reach_the_image_generator_through_its_vae(data,
                                                                 tmp_path):
    """A VAE fitted with --latent-channels 8 gives the ControlNet generator
    built on it a UNet (and ControlNet) of 8 latent channels that trains
    and paints; a conflicting request or a pretrained UNet is refused."""
    from dldm_mmseg.models.generators import build_sd_components
    out = quick_vae(data, str(tmp_path / 'vae8'), 'images',
                    '--latent-channels', '8')
    parts = build_sd_components(preset='tiny', vae=out)
    assert parts.vae.config.latent_channels == 8
    assert parts.unet.config.in_channels == 8
    assert parts.unet.config.out_channels == 8
    model, _ = build(IMAGE_CFG, data, components=dict(preset='tiny',
                                                      vae=out))
    assert model.controlnet.config.in_channels == 8
    losses = model(**batch_of(data, load_image=True))
    assert all(torch.isfinite(v) for v in losses.values())
    masks = np.random.default_rng(0).integers(0, 6, (2, 32, 32))
    images = model.generate_images(masks, ['an aerial image'] * 2, [3, 4],
                                   steps=2)
    assert np.asarray(images).shape == (2, 32, 32, 3)
    # the export reloads (as the synthesis engine loads it) and paints the
    # same; a model over 4-channel latents refuses it by name
    randomise_lora(model)
    painted = model.generate_images(masks, ['an aerial image'] * 2, [3, 4],
                                    steps=2)
    export = model.export(str(tmp_path / 'controlnet8'))
    fresh, _ = build(IMAGE_CFG, data, components=dict(preset='tiny',
                                                      vae=out))
    fresh.load_export(export)
    assert np.array_equal(painted, fresh.generate_images(
        masks, ['an aerial image'] * 2, [3, 4], steps=2))
    four, _ = build(IMAGE_CFG, data)
    with pytest.raises(ValueError, match='trained on 8-channel latents'):
        four.load_export(export)
    with pytest.raises(ValueError, match='trained on 8-channel latents'):
        build(IMAGE_CFG, data, controlnet=export)
    # asking for the preset's own 4 builds the very same weights
    default = build_sd_components(preset='tiny')
    for name in ('unet', 'vae'):
        assert all(torch.equal(a, b) for a, b in zip(
            getattr(default, name).parameters(),
            getattr(build_sd_components(preset='tiny', latent_channels=4),
                    name).parameters()))
    with pytest.raises(ValueError, match='8-channel latents'):
        build_sd_components(preset='tiny', vae=out, latent_channels=4)
    folder = saved_tiny_sd(str(tmp_path / 'sd'))
    with pytest.raises(ValueError, match='fixes its own'):
        build_sd_components(pretrained=folder, latent_channels=8)
    with pytest.raises(ValueError, match='predicts 4'):
        build_sd_components(pretrained=folder, vae=out)


def test_a_finer_vae_reaches_the_mask_generator_through_its_folder(data,
                                                                   tmp_path):
    """A VAE fitted with --scale-factor 2 keeps half-size latents (16 x 16
    on 32-pixel masks) and the mask generator built on it trains and draws
    full-size masks through them; a factor the preset lacks, or one that
    conflicts with the folder or a pretrained model, is refused."""
    from dldm_mmseg.models.generators import build_sd_components
    from dldm_mmseg.models.generators.components import PRESETS, preset_vae
    out = quick_vae(data, str(tmp_path / 'vae2'), 'masks',
                    '--scale-factor', '2')
    parts = build_sd_components(preset='tiny', vae=out)
    assert parts.vae_scale_factor == 2
    masks = torch.zeros(1, 3, 32, 32)
    assert parts.vae.encode(masks).latent_dist.mean.shape[-2:] == (16, 16)
    model, _ = build(MASK_CFG, data, components=dict(preset='tiny', vae=out))
    assert model.vae_scale_factor == 2
    losses = model(**batch_of(data))
    assert all(torch.isfinite(v) for v in losses.values())
    drawn = model.generate_masks(['a mask'], seeds=[3], height=32, width=32,
                                 steps=2)
    assert drawn['labels'].shape == (1, 32, 32)
    # the preset's own factor builds the very same VAE
    assert preset_vae(PRESETS['tiny']['vae'], 4) == dict(
        PRESETS['tiny']['vae'], block_out_channels=(16, 32, 32),
        down_block_types=('DownEncoderBlock2D',) * 3,
        up_block_types=('UpDecoderBlock2D',) * 3)
    assert build_sd_components(preset='tiny', vae_scale_factor=1
                               ).vae_scale_factor == 1
    for bad in (3, 8, 0):
        with pytest.raises(ValueError, match="power of 2 from 1 to the "
                           "preset's 4"):
            build_sd_components(preset='tiny', vae_scale_factor=bad)
    with pytest.raises(ValueError, match='downsamples by 2'):
        build_sd_components(preset='tiny', vae=out, vae_scale_factor=4)
    folder = saved_tiny_sd(str(tmp_path / 'sd'))
    with pytest.raises(ValueError, match='has its own'):
        build_sd_components(pretrained=folder, vae_scale_factor=2)


def test_fit_vae_refuses_a_scale_factor_the_preset_lacks(data, tmp_path,
                                                         capsys):
    fit = load_tool('fit_vae')
    out = tmp_path / 'vae'
    with pytest.raises(SystemExit):
        fit.main([data, '--out', str(out), '--preset', 'tiny',
                  '--scale-factor', '8'])
    assert "--scale-factor: vae_scale_factor must be a power of 2 from 1 " \
        "to the preset's 4, got 8" in capsys.readouterr().err
    assert not out.exists()
