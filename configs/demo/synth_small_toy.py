# Stage 3 on the built-in toy set (tools/demo.py step 7): the Potsdam synth
# config with the demo's generators, 64x64 samples, rare classes enriched,
# proportion enforcement (masks more than 10 points off their target
# shares are drawn again, best of 3 kept) and a stronger mask clean-up than
# the Potsdam default: pixels with fewer than 4 of 8 same-class neighbours
# are relabelled (stage-1 masks at 64 px carry ragged car/clutter blobs;
# measured in docs/results/stage2_vae/mask_cleanup.py and the demo report).
_base_ = ['../synth/potsdam.py']
out_dir = 'work_dirs/demo/data/toy_syn'
synthesis = dict(
    mask_generator=dict(
        config='configs/demo/mask_small_toy.py',
        weights='work_dirs/demo/mask_small_toy/export/final'),
    image_generator=dict(
        config='configs/demo/image_controlnet_small_toy.py',
        weights='work_dirs/demo/image_controlnet_small_toy/export/final'),
    real_captions=dict(data_root='work_dirs/demo/data/toy_landcover'),
    mask_prompt='shares',  # as mask_small_toy.py trains
    size=64,
    batch_size=16,
    mask_sampling=dict(steps=20, guidance_scale=2.0),
    image_sampling=dict(steps=20, guidance_scale=2.0),
    reject=dict(max_cpe=10, max_tries=3),
    cleanup_min_neighbours=4,
)
