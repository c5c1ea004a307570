# Stage 1 on the Raleigh land cover over a one-hot mask VAE (a channel per
# class plus ignore, `tools/fit_vae.py --content masks --mask-encoding
# onehot`, the demo's --onehot-masks).
_base_ = ['./mask_small_raleigh.py']
# the demo's work dir
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo_raleigh_landsat}}'
# a one-hot mask is decoded by its largest channel
model = dict(components=dict(vae=__demo + '/vae_mask_onehot'),
             quantisation=dict(_delete_=True, type='argmax'))
