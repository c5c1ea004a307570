# The demo's mask VAE (tools/demo.py step 2) as an mmengine run:
#   python tools/train.py configs/demo/vae_masks_small_toy.py
# fits what `tools/fit_vae.py work_dirs/demo/data/toy_landcover --out
# work_dirs/demo/vae_mask --content masks --iters 800 --crop-size 32
# --kl-weight 1e-4` fits (the demo calls the same run through
# dldm_mmseg.models.vae_fitting.fit_vae). The `small` preset's VAE starts
# from random weights; a pretrained Stable Diffusion VAE needs no fit.
# The VAE goes to work_dirs/vae_masks_small_toy/export/final (point a
# generator's components.vae at it). The image VAE: `--cfg-options
# model.content=images train_dataloader.dataset.load_image=True
# train_cfg.max_iters=2400`.
default_scope = 'mmseg'
custom_imports = dict(imports=['dldm_mmseg'], allow_failed_imports=False)
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo}}'  # the demo's work dir
data_root = __demo + '/data/toy_landcover'
__source_dataset = 'PotsdamDataset'
model = dict(
    type='VAEAutoencoder',
    source_dataset=__source_dataset,
    preset='small',
    content='masks',
    kl_weight=1e-4,
    mask_ce_weight=0.1,
    class_balance=0.5,
    seed=0,
    mask_encoding='rgb')
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='MaskCaptionDataset',
        data_root=data_root,
        source_dataset=__source_dataset,
        load_image=False,
        crop_size=(32, 32),
        allow_missing_captions=True))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=800)
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3))
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500,
                    max_keep_ckpts=1))
# the VAE in the diffusers layout, with its latent scaling factor
custom_hooks = [dict(type='VAEExportHook')]
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
log_level = 'INFO'
launcher = 'none'
