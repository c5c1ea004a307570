# PSPNet R50-D8 on ISPRS Vaihingen with no synthetic data (alpha = 0): the
# baseline the syn* configs are compared with.
_base_ = [
    './_base_/models/pspnet_r50-d8.py',
    './_base_/datasets/vaihingen.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=6),
    auxiliary_head=dict(num_classes=6))
