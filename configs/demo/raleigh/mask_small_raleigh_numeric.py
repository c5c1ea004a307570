# Stage 1 on the Raleigh land cover with numeric share conditioning beside
# the text: the target share vector is embedded and added to the timestep
# embedding.
_base_ = ['./mask_small_raleigh.py']
model = dict(share_conditioning=dict(dropout=0.1))
