# Stage 2 on SpaceNet Atlanta with the mask's class shares given to the
# ControlNet as numbers beside the mask (share_conditioning).
_base_ = ['./image_controlnet_small_atlanta.py']
model = dict(share_conditioning=dict())
