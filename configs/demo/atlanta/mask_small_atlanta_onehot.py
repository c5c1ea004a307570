# Stage 1 on SpaceNet Atlanta over a one-hot mask VAE (see
# ../mask_small_toy_onehot.py).
_base_ = ['./mask_small_atlanta.py']
model = dict(components=dict(
    vae='work_dirs/demo_spacenet_atlanta/vae_mask_onehot'))
