# Stage 3 on SpaceNet Las Vegas roads: target shares drawn from the real
# tiles, roads enriched by rarity.
_base_ = ['../synth_small_toy.py', './vegas_data.py']
# the demo's work dir
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo_spacenet_vegas_roads}}'
out_dir = __demo + '/data/vegas_syn'
synthesis = dict(
    source_dataset={{_base_.source_dataset}},
    mask_generator=dict(
        config='configs/demo/vegas/mask_small_vegas_numeric_ce_only.py',
        weights=__demo
        + '/mask_small_vegas_numeric_ce_only/export/final'),
    image_generator=dict(
        config='configs/demo/vegas/image_controlnet_small_vegas.py',
        weights=__demo + '/image_controlnet_small_vegas/export/final'),
    real_captions=dict(data_root={{_base_.vegas_root}}),
    shares=dict(_delete_=True, mode='real', rarity_exponent=0.5))
