_base_ = ['../../../configs/demo/atlanta/mask_small_atlanta.py']
model = dict(prop_weight=0.1)
