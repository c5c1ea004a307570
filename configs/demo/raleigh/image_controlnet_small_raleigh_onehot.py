# Stage 2 on the Raleigh land cover with the mask given to the ControlNet
# as one channel per class plus one for ignore pixels instead of its
# palette colours.
_base_ = ['./image_controlnet_small_raleigh.py']
model = dict(condition='onehot')
