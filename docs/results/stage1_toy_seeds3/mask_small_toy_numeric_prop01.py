# Stage 1 on the toy scenes with numeric share conditioning and L_prop at
# weight 0.1.
_base_ = ['../../../configs/demo/mask_small_toy_numeric.py']
model = dict(prop_weight=0.1)
