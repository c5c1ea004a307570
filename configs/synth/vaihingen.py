# Stage 3 on Vaihingen: synthesise image/mask pairs with the generators
# trained by configs/generators/*_vaihingen.py.
#   python tools/synthesize.py configs/synth/vaihingen.py --num 2000
custom_imports = dict(imports=['dldm_mmseg'], allow_failed_imports=False)
out_dir = 'data/vaihingen_syn'
synthesis = dict(
    source_dataset='ISPRSDataset',
    mask_generator=dict(
        config='configs/generators/mask_lora_vaihingen.py',
        weights='work_dirs/mask_lora_vaihingen/export/final'),
    image_generator=dict(
        config='configs/generators/image_controlnet_vaihingen.py',
        weights='work_dirs/image_controlnet_vaihingen/export/final'),
    # target shares: drawn from real patches, rare classes enriched
    real_captions=dict(data_root='data/vaihingen', captions='captions.jsonl'),
    shares=dict(mode='real', rarity_exponent=0.5,
                min_shares=dict(car=0.03, clutter=0.03)),
    mask_prompt='shares+caption',   # as in mask_lora_potsdam.py training
    image_prompt='caption+shares',  # as in image_controlnet_potsdam.py
    size=512,
    base_seed=0,
    batch_size=8,
    mask_sampling=dict(steps=20, guidance_scale=5.0, scheduler='dpmsolver++'),
    image_sampling=dict(steps=20, guidance_scale=5.0,
                        scheduler='dpmsolver++'),
    cleanup_min_neighbours=2,
    # proportion enforcement at inference: regenerate masks whose shares
    # miss the target by more than max_cpe (percent), keeping the best
    reject=dict(max_cpe=None, max_tries=3),
    # consistency filter (FreeMask-style) with a segmentor trained on real
    # data, e.g. dict(config='configs/deeplabv3plus_potsdam_syn0.py',
    # checkpoint='work_dirs/deeplabv3plus_potsdam_syn0/iter_80000.pth',
    # min_confidence=0.9, max_disagreement=0.3, mode='ignore' or 'drop')
    consistency=None,
    # True: the networks run one sample at a time, so sample i gives
    # bit-identical files whatever --batch-size or the number of processes.
    # False: batched inference, faster; files then agree to within one grey
    # level in rare pixels (kernels round differently for other batch shapes)
    deterministic=True,
    # speed: half precision on GPUs (fp32 on CPU), channels_last memory
    # layout, optional torch.compile of UNet and ControlNet
    dtype=None,
    channels_last=True,
    compile=False,
)
