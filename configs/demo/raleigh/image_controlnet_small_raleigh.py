# Stage 2 on Landsat 7 land cover over Raleigh NC: the mask is given to the
# ControlNet as one channel per class plus one for ignore pixels, so the
# network never tells classes apart by colour.
_base_ = ['./image_controlnet_small_raleigh_rgb.py']
model = dict(condition='onehot')
