# Stage 3 on the Brazil orthophoto: target shares drawn from the real tiles,
# buildings enriched by rarity.
_base_ = ['../synth_small_toy.py', './brazil_data.py']
# the demo's work dir
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo_brazil_buildings}}'
out_dir = __demo + '/data/brazil_syn'
synthesis = dict(
    source_dataset={{_base_.source_dataset}},
    mask_generator=dict(
        config='configs/demo/brazil/mask_small_brazil_numeric_ce_only.py',
        weights=__demo
        + '/mask_small_brazil_numeric_ce_only/export/final'),
    image_generator=dict(
        config='configs/demo/brazil/image_controlnet_small_brazil.py',
        weights=__demo + '/image_controlnet_small_brazil/export/final'),
    real_captions=dict(data_root={{_base_.brazil_root}}),
    shares=dict(_delete_=True, mode='real', rarity_exponent=0.5))
