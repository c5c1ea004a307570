# SegFormer MiT-B0 on ISPRS Potsdam with no synthetic data (alpha = 0): the
# baseline the syn* configs are compared with.
_base_ = [
    './_base_/models/segformer_mit-b0.py',
    './_base_/datasets/potsdam.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/schedules/segformer_80k.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=6))
