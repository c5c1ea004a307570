# PSPNet R50-D8 on ISPRS Vaihingen, real data only: the stock mmseg config
# with pretrained weights from a local file (nothing is downloaded at run
# time; see README, "Pretrained weights") and the project's metrics.
_base_ = [
    'mmseg::pspnet/pspnet_r50-d8_4xb4-80k_vaihingen-512x512.py',
    './dldm_metrics.py',
]
model = dict(pretrained='checkpoints/resnet50_v1c-2cccc1ad.pth')
val_evaluator = {{_base_.dldm_evaluator}}
test_evaluator = val_evaluator
