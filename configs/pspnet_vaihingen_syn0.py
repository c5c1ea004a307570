# PSPNet R50-D8 on ISPRS Vaihingen with no synthetic data (alpha = 0): the
# baseline the syn* configs are compared with.
_base_ = ['./_base_/pspnet_vaihingen_real.py']
