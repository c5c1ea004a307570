# Stage 3 on Vaihingen: the Potsdam synthesis settings with the generators
# trained by configs/generators/*_vaihingen.py.
#   python tools/synthesize.py configs/synth/vaihingen.py --num 344
_base_ = ['./potsdam.py']
out_dir = 'data/vaihingen_syn'
synthesis = dict(
    source_dataset=dict(type='ISPRSDataset'),
    mask_generator=dict(
        config='configs/generators/mask_lora_vaihingen.py',
        weights='work_dirs/mask_lora_vaihingen/export/final'),
    image_generator=dict(
        config='configs/generators/image_controlnet_vaihingen.py',
        weights='work_dirs/image_controlnet_vaihingen/export/final'),
    real_captions=dict(data_root='data/vaihingen'))
