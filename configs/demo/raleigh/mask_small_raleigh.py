# Stage 1 on Landsat 7 land cover over Raleigh NC: the toy demo's recipe
# on the real 32 px tiles, at Atlanta's number of iterations.
_base_ = ['../mask_small_toy.py', './raleigh_data.py']
# the demo's work dir
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo_raleigh_landsat}}'
data_root = {{_base_.raleigh_root}}
# a pixel takes only a class drawn confidently around it: where two
# classes meet, the decoded blend of their colours would otherwise be
# nearest to a third (red + green -> shrubland's brown)
model = dict(
    components=dict(vae=__demo + '/vae_mask'),
    source_dataset={{_base_.source_dataset}},
    quantisation=dict(type='neighbourhood', window=5, confident=0.25))
train_dataloader = dict(dataset=dict(
    data_root=data_root,
    source_dataset={{_base_.source_dataset}}))
val_dataloader = dict(dataset=dict(
    data_root=data_root,
    source_dataset={{_base_.source_dataset}}))
test_dataloader = val_dataloader
# 361 tiles / 16 = 23 iterations per epoch; 40 epochs = 920 iterations,
# about Atlanta's 960
max_epochs = 40
train_cfg = dict(max_epochs=max_epochs, val_interval=20)
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
