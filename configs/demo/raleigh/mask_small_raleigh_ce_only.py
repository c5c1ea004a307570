# Stage 1 on the Raleigh land cover without the proportion-aware loss.
_base_ = ['./mask_small_raleigh.py']
model = dict(prop_weight=0.0)
