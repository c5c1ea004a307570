# The toy demo's small DeepLabV3+ on the Brazil orthophoto (2 classes).
_base_ = ['../deeplabv3plus_toy_syn0.py', './brazil_data.py']
data_root = {{_base_.brazil_root}}
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
model = dict(decode_head=dict(num_classes=2),
             auxiliary_head=dict(num_classes=2))
