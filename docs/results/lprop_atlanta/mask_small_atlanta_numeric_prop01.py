_base_ = ['../../../configs/demo/atlanta/mask_small_atlanta_numeric.py']
model = dict(prop_weight=0.1)
