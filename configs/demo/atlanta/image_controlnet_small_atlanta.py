# Stage 2 on SpaceNet Atlanta: the toy demo's recipe on the real tiles.
_base_ = ['../image_controlnet_small_toy.py', './atlanta_data.py']
# the demo's work dir
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo_spacenet_atlanta}}'
data_root = {{_base_.atlanta_root}}
model = dict(
    components=dict(vae=__demo + '/vae_image'),
    source_dataset={{_base_.source_dataset}})
train_dataloader = dict(dataset=dict(
    data_root=data_root,
    source_dataset={{_base_.source_dataset}}))
# 125 tiles / 16 = 8 iterations per epoch; 368 epochs rather than the toy
# recipe's 240 (the comparison: docs/results/atlanta_stage2_gpu).
max_epochs = 368
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50,
         end=8 * max_epochs, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
custom_hooks = [
    dict(type='GeneratorExportHook'),
    dict(type='RandomStateHook'),
    dict(type='GeneratorSampleHook', interval=8 * max_epochs, steps=20),
]
