# DeepLabV3+ R50-D8 on LoveDA with no synthetic data (alpha = 0).
_base_ = [
    './_base_/models/deeplabv3plus_r50-d8.py',
    './_base_/datasets/loveda.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=7),
    auxiliary_head=dict(num_classes=7))
