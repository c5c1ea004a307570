# Stage 1 on the toy scenes with L_prop at weight 0.1 (the demo's is 0.5).
_base_ = ['../../../configs/demo/mask_small_toy.py']
model = dict(prop_weight=0.1)
