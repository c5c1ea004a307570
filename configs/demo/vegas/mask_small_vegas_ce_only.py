# Stage 1 on SpaceNet Las Vegas (roads) without the proportion-aware loss.
_base_ = ['./mask_small_vegas.py']
model = dict(prop_weight=0.0)
