# Stage 1 over a one-hot mask VAE that downsamples by 2
# (`tools/fit_vae.py --content masks --mask-encoding onehot
# --scale-factor 2`): 16 x 16 latents on the 32 px tiles, as the small
# preset has on 64 px scenes. Numeric share conditioning beside the
# text, without the proportion-aware loss.
_base_ = ['./mask_small_raleigh_onehot_numeric_ce_only.py']
# the demo's work dir
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo_raleigh_landsat}}'
model = dict(components=dict(vae=__demo + '/vae_mask_onehot_f2'))
