# Stage 1 on the Brazil orthophoto with numeric share conditioning beside the
# text: the target share vector is embedded and added to the timestep
# embedding.
_base_ = ['./mask_small_brazil.py']
model = dict(share_conditioning=dict(dropout=0.1))
