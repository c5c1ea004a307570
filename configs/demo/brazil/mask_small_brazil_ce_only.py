# Stage 1 on the Brazil orthophoto without the proportion-aware loss.
_base_ = ['./mask_small_brazil.py']
model = dict(prop_weight=0.0)
