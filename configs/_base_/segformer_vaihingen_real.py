# SegFormer MiT-B0 on ISPRS Vaihingen, real data only: the stock mmseg config
# with pretrained weights from a local file (nothing is downloaded at run
# time; see README, "Pretrained weights") and the project's metrics.
_base_ = [
    './segformer_mit-b0_vaihingen-512x512.py',
    './dldm_metrics.py',
]
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/mit_b0_20220624-7e0fe6dd.pth')))
val_evaluator = {{_base_.dldm_evaluator}}
test_evaluator = val_evaluator
