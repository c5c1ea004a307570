# Stage 3 on SpaceNet Atlanta: target shares drawn from the real tiles,
# buildings enriched by rarity.
_base_ = ['../synth_small_toy.py', './atlanta_data.py']
out_dir = 'work_dirs/demo_spacenet_atlanta/data/atlanta_syn'
synthesis = dict(
    source_dataset={{_base_.source_dataset}},
    mask_generator=dict(
        config='configs/demo/atlanta/mask_small_atlanta.py',
        weights='work_dirs/demo_spacenet_atlanta/mask_small_atlanta/export/'
        'final'),
    image_generator=dict(
        config='configs/demo/atlanta/image_controlnet_small_atlanta.py',
        weights='work_dirs/demo_spacenet_atlanta/'
        'image_controlnet_small_atlanta/export/final'),
    real_captions=dict(data_root={{_base_.atlanta_root}}),
    shares=dict(_delete_=True, mode='real', rarity_exponent=0.5))
