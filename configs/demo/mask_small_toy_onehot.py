# Stage 1 on the toy scenes over a one-hot mask VAE (a channel per class
# plus ignore, `tools/fit_vae.py --content masks --mask-encoding onehot`):
# the generator reads the encoding from the VAE, draws one-hot masks and
# quantises by argmax, so no border can turn into a third class's colour.
_base_ = ['./mask_small_toy.py']
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo}}'  # the demo's work dir
model = dict(components=dict(vae=__demo + '/vae_mask_onehot'))
