# The demo's stage-1 ablation: the same run without the proportion-aware
# loss (the paper's Table 2, CE only).
_base_ = ['./mask_small_toy.py']
model = dict(prop_weight=0.0)
