# The toy demo's small DeepLabV3+ on Landsat 7 land cover over Raleigh NC
# (6 classes, 32 px tiles).
_base_ = ['../deeplabv3plus_toy_syn0.py', './raleigh_data.py']
data_root = {{_base_.raleigh_root}}
crop_size = (32, 32)
real = dict(
    type='BaseSegDataset',
    data_root=data_root,
    metainfo={{_base_.source_dataset.metainfo}},
    reduce_zero_label=True,
    img_suffix='.png',
    data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
    pipeline={{_base_.train_pipeline}},
    serialize_data=False)
train_dataloader = dict(dataset=dict(real, _delete_=True))
val_dataloader = dict(dataset=dict(
    real,
    _delete_=True,
    data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
    pipeline={{_base_.test_pipeline}}))
test_dataloader = dict(dataset=dict(
    real,
    _delete_=True,
    data_prefix=dict(img_path='img_dir/test', seg_map_path='ann_dir/test'),
    pipeline={{_base_.test_pipeline}}))
# the recipe chosen on val (docs/results/real_raleigh/recipe_rule.md):
# each class weighs the square root of the largest train share over its
# own in the cross-entropy, and training runs twice the toy's iterations
class_weighted_ce = dict(class_weight=[1.2, 7.8, 1.9, 2.8, 1.0, 4.6])
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=6, loss_decode=class_weighted_ce),
    auxiliary_head=dict(num_classes=6, loss_decode=class_weighted_ce))
max_iters = 3000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
