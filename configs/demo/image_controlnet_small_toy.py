# Stage 2 on the built-in toy set (tools/demo.py step 6): the Potsdam
# stage-2 config with the `small` preset and the fitted VAE. A frozen
# random UNet would be noise, so it trains with the ControlNet
# (train_unet=True, `sd_locked=False` in the ControlNet authors' code); with
# a real SD folder keep SD frozen as the paper does. The image-space term of
# the paper's Algorithm 1 on the decoded x0 at every timestep
# (x0_weighting='none'): without it, a few hundred steps from random
# weights leave some samples looking like colour masks (the VAE is shared).
_base_ = ['../generators/image_controlnet_potsdam.py']
data_root = 'work_dirs/demo/data/toy_landcover'
model = dict(
    components=dict(_delete_=True, preset='small', vae='work_dirs/demo/vae'),
    train_unet=True,
    image_loss_weight=1.0,
    x0_weighting='none',
    gradient_checkpointing=False,
    inference_cfg=dict(steps=20, guidance_scale=2.0))
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-2))
max_epochs = 30
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
custom_hooks = [
    dict(type='GeneratorExportHook'),
    dict(type='GeneratorSampleHook', interval=10 * max_epochs, steps=20),
]
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
