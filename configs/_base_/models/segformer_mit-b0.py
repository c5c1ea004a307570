# mmseg's SegFormer MiT-B0 with its ImageNet backbone weights from a local
# file (nothing is downloaded at run time; see README, "Pretrained weights").
_base_ = ['mmseg::_base_/models/segformer_mit-b0.py']
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/mit_b0_20220624-7e0fe6dd.pth')))
