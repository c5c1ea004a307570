# SegFormer MiT-B0 on LoveDA with no synthetic data (alpha = 0).
_base_ = [
    './_base_/models/segformer_mit-b0.py',
    './_base_/datasets/loveda.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/schedules/segformer_80k.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=7))
