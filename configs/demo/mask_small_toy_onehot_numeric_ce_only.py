# Stage 1 over a one-hot mask VAE with numeric share conditioning beside
# the text, without the proportion-aware loss.
_base_ = ['./mask_small_toy_onehot_ce_only.py']
model = dict(share_conditioning=dict(dropout=0.1))
