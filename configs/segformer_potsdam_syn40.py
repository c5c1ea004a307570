# SegFormer MiT-B0 on ISPRS Potsdam, real + synthetic at alpha = 0.4 (the
# paper's best ratio; _base_/datasets/potsdam_syn.py holds the synthetic
# set and how it is made; syn20/60/100 change the ratio only).
_base_ = [
    './_base_/models/segformer_mit-b0.py',
    './_base_/datasets/potsdam_syn.py',
    'mmseg::_base_/default_runtime.py',
    './_base_/schedules/segformer_80k.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=6))
