# Stage 2 on Landsat 7 land cover over Raleigh NC with the mask given to
# the ControlNet as its palette colours: Atlanta's recipe on the real 32 px
# tiles, at Atlanta's number of iterations.
_base_ = ['../image_controlnet_small_toy.py', './raleigh_data.py']
# the demo's work dir
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo_raleigh_landsat}}'
data_root = {{_base_.raleigh_root}}
model = dict(
    components=dict(vae=__demo + '/vae_image'),
    source_dataset={{_base_.source_dataset}})
train_dataloader = dict(dataset=dict(
    data_root=data_root,
    source_dataset={{_base_.source_dataset}}))
# 361 tiles / 16 = 23 iterations per epoch; 128 epochs = Atlanta's 2944
# iterations
max_epochs = 128
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50,
         end=23 * max_epochs, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
custom_hooks = [
    dict(type='GeneratorExportHook'),
    dict(type='RandomStateHook'),
    dict(type='GeneratorSampleHook', interval=23 * max_epochs, steps=20),
]
