# Stage 1 over a one-hot mask VAE without the proportion-aware loss.
_base_ = ['./mask_small_raleigh_onehot.py']
model = dict(prop_weight=0.0)
