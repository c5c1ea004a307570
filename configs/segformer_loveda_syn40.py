# SegFormer MiT-B0 on LoveDA, real + synthetic at alpha = 0.4
# (_base_/datasets/loveda_syn.py).
_base_ = [
    './_base_/models/segformer_mit-b0.py',
    './_base_/datasets/loveda_syn.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/schedules/segformer_80k.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=7))
