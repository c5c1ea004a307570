# Stage 1 on SpaceNet Atlanta without the proportion-aware loss.
_base_ = ['./mask_small_atlanta.py']
model = dict(prop_weight=0.0)
