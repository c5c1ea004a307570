# Stage 1 on SpaceNet Atlanta over a one-hot mask VAE without the
# proportion-aware loss.
_base_ = ['./mask_small_atlanta_onehot.py']
model = dict(prop_weight=0.0)
