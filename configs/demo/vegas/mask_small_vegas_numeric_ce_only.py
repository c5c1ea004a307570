# Numeric share conditioning without the proportion-aware loss.
_base_ = ['./mask_small_vegas_numeric.py']
model = dict(prop_weight=0.0)
