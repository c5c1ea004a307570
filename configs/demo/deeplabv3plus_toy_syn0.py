# The built-in toy land-cover set (dldm_mmseg.datasets.toy_landcover:
# Potsdam classes, palette and encoding, 64x64 scenes) with a small
# DeepLabV3+ that trains on a CPU in minutes. It inherits the Potsdam
# config and changes data root, sizes, model width and schedule, and tests
# on its test split: the worked example of how a new dataset inherits the
# project's configs.
_base_ = ['../deeplabv3plus_potsdam_syn0.py']
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo}}'  # the demo's work dir
data_root = __demo + '/data/toy_landcover'
crop_size = (64, 64)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        depth=18, stem_channels=16, base_channels=16, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=128, channels=32, c1_in_channels=16, c1_channels=8,
        dilations=(1, 2, 3), norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=64, channels=16, norm_cfg=norm_cfg))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
# serialize_data=False: with no worker processes there is no memory to
# share, and serialising calls gc.collect(), which is slow in a process
# holding the demo's generators
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline,
                 serialize_data=False))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline,
                 serialize_data=False))
# settings are chosen on val; the test split is what the demo reports
test_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline,
                 serialize_data=False,
                 data_prefix=dict(img_path='img_dir/test',
                                  seg_map_path='ann_dir/test')))
max_iters = 1500
optim_wrapper = dict(optimizer=dict(lr=0.05))
# no `end`: the schedule ends with training (train_cfg.max_iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters),
    visualization=dict(draw=False))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
