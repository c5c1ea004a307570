# Stage 3 on the built-in toy set (tools/demo.py step 5): the Potsdam synth
# config with the demo's generators (stage 1 with numeric share
# conditioning, CE only: the default), 64x64 samples, rare classes enriched,
# and proportion enforcement (masks more than 10 points off their target
# shares are drawn again, best of 3 kept).
_base_ = ['../synth/potsdam.py']
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo}}'  # the demo's work dir
out_dir = __demo + '/data/toy_syn'
synthesis = dict(
    mask_generator=dict(
        config='configs/demo/mask_small_toy_numeric_ce_only.py',
        weights=__demo + '/mask_small_toy_numeric_ce_only/export/final'),
    image_generator=dict(
        config='configs/demo/image_controlnet_small_toy.py',
        weights=__demo + '/image_controlnet_small_toy/export/final'),
    real_captions=dict(data_root=__demo + '/data/toy_landcover'),
    mask_prompt='shares',  # as mask_small_toy.py trains
    size=64,
    batch_size=16,
    # proportion guidance stays off: it brings the masks closer to their
    # target shares but makes them worse training data for the segmentors
    # (docs/results/synthesis_steering)
    mask_sampling=dict(steps=20, guidance_scale=2.0),
    image_sampling=dict(steps=20, guidance_scale=2.0),
    reject=dict(max_cpe=10, max_tries=3),
)
