# mmseg's PSPNet R50-D8 with its ImageNet backbone weights from a local file
# (nothing is downloaded at run time; see README, "Pretrained weights").
_base_ = ['mmseg::_base_/models/pspnet_r50-d8.py']
model = dict(pretrained='checkpoints/resnet50_v1c-2cccc1ad.pth')
