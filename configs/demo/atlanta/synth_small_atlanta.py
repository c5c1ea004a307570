# Stage 3 on SpaceNet Atlanta: target shares drawn from the real tiles,
# buildings enriched by rarity.
_base_ = ['../synth_small_toy.py', './atlanta_data.py']
# the demo's work dir
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo_spacenet_atlanta}}'
out_dir = __demo + '/data/atlanta_syn'
synthesis = dict(
    source_dataset={{_base_.source_dataset}},
    mask_generator=dict(
        config='configs/demo/atlanta/mask_small_atlanta_numeric_ce_only.py',
        weights=__demo
        + '/mask_small_atlanta_numeric_ce_only/export/final'),
    image_generator=dict(
        config='configs/demo/atlanta/image_controlnet_small_atlanta.py',
        weights=__demo + '/image_controlnet_small_atlanta/export/final'),
    real_captions=dict(data_root={{_base_.atlanta_root}}),
    shares=dict(_delete_=True, mode='real', rarity_exponent=0.5))
