# Numeric share conditioning without the proportion-aware loss.
_base_ = ['./mask_small_brazil_numeric.py']
model = dict(prop_weight=0.0)
