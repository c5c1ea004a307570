# Stage 1 on SpaceNet Atlanta: the toy demo's recipe on the real tiles.
_base_ = ['../mask_small_toy.py', './atlanta_data.py']
# the demo's work dir
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo_spacenet_atlanta}}'
data_root = {{_base_.atlanta_root}}
model = dict(
    components=dict(vae=__demo + '/vae_mask'),
    source_dataset={{_base_.source_dataset}})
train_dataloader = dict(dataset=dict(
    data_root=data_root,
    source_dataset={{_base_.source_dataset}}))
val_dataloader = dict(dataset=dict(
    data_root=data_root,
    source_dataset={{_base_.source_dataset}}))
test_dataloader = val_dataloader
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50,
         end=8 * 120,  # 8 iterations per epoch x max_epochs
         eta_min=1e-5),
]
