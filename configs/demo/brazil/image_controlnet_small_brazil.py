# Stage 2 on the Brazil orthophoto: the toy demo's recipe on the real tiles.
_base_ = ['../image_controlnet_small_toy.py', './brazil_data.py']
# the demo's work dir
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo_brazil_buildings}}'
data_root = {{_base_.brazil_root}}
model = dict(
    components=dict(vae=__demo + '/vae_image'),
    source_dataset={{_base_.source_dataset}})
train_dataloader = dict(dataset=dict(
    data_root=data_root,
    source_dataset={{_base_.source_dataset}}))
# 720 tiles / 16 = 45 iterations per epoch; 65 epochs give about the
# iterations of the Atlanta recipe (368 epochs of 8)
max_epochs = 65
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50,
         end=45 * max_epochs, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
custom_hooks = [
    dict(type='GeneratorExportHook'),
    dict(type='RandomStateHook'),
    dict(type='GeneratorSampleHook', interval=45 * max_epochs, steps=20),
]
