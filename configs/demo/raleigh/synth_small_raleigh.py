# Stage 3 on the Raleigh land cover: 32 px pairs, target shares drawn from
# the real tiles, rare classes enriched by rarity.
_base_ = ['../synth_small_toy.py', './raleigh_data.py']
# the demo's work dir
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo_raleigh_landsat}}'
out_dir = __demo + '/data/raleigh_syn'
synthesis = dict(
    source_dataset={{_base_.source_dataset}},
    mask_generator=dict(
        config='configs/demo/raleigh/mask_small_raleigh_numeric_ce_only.py',
        weights=__demo
        + '/mask_small_raleigh_numeric_ce_only/export/final'),
    image_generator=dict(
        config='configs/demo/raleigh/image_controlnet_small_raleigh.py',
        weights=__demo + '/image_controlnet_small_raleigh/export/final'),
    real_captions=dict(data_root={{_base_.raleigh_root}}),
    size=32,
    shares=dict(_delete_=True, mode='real', rarity_exponent=0.5))
