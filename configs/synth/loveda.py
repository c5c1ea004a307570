# Stage 3 on LoveDA: the Potsdam synthesis settings with the generators
# trained by configs/generators/*_loveda.py, barren and water (the rarest
# LoveDA classes) enriched.
#   python tools/synthesize.py configs/synth/loveda.py --num 2522
_base_ = ['./potsdam.py']
out_dir = 'data/loveDA_syn'
synthesis = dict(
    source_dataset=dict(type='LoveDADataset'),
    mask_generator=dict(
        config='configs/generators/mask_lora_loveda.py',
        weights='work_dirs/mask_lora_loveda/export/final'),
    image_generator=dict(
        config='configs/generators/image_controlnet_loveda.py',
        weights='work_dirs/image_controlnet_loveda/export/final'),
    real_captions=dict(data_root='data/loveDA'),
    shares=dict(min_shares=dict(_delete_=True, barren=0.03, water=0.03)))
