# Stage 3 on Potsdam: synthesise image/mask pairs with the generators
# trained by configs/generators/*_potsdam.py.
#   python tools/synthesize.py configs/synth/potsdam.py --num 2000
custom_imports = dict(imports=['dldm_mmseg'], allow_failed_imports=False)
out_dir = 'data/potsdam_syn'
synthesis = dict(
    source_dataset=dict(type='PotsdamDataset'),
    mask_generator=dict(
        config='configs/generators/mask_lora_potsdam.py',
        weights='work_dirs/mask_lora_potsdam/export/final'),
    image_generator=dict(
        config='configs/generators/image_controlnet_potsdam.py',
        weights='work_dirs/image_controlnet_potsdam/export/final'),
    # target shares: drawn from real patches, rare classes enriched
    real_captions=dict(data_root='data/potsdam', captions='captions.jsonl'),
    shares=dict(mode='real', rarity_exponent=0.5,
                min_shares=dict(car=0.03, clutter=0.03)),
    mask_prompt='shares+caption',   # as in mask_lora_potsdam.py training
    image_prompt='caption+shares',  # as in image_controlnet_potsdam.py
    size=512,
    base_seed=0,
    batch_size=8,
    # prop_guidance: move each sampling step below max_timestep along
    # -dL_prop/dx0 of the decoded mask (scale 0 = off; the scales compared:
    # docs/results/history.md#proportion-guidance)
    mask_sampling=dict(steps=20, guidance_scale=5.0, scheduler='dpmsolver++',
                       prop_guidance=dict(scale=0.0, max_timestep=400)),
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
    # 'aligned': sample i is always computed in batch i // batch_size with
    # the same mates, so files are bit-identical for 1 or N processes and
    # resumed runs, at batched speed (the batch size is then part of the
    # set's identity). 'one_at_a_time': identical whatever the batch size
    # too, at batch-1 speed. 'free': batches of whatever is left; a pixel
    # may differ by a grey level between runs.
    batching='aligned',
    # speed: half precision on GPUs (fp32 on CPU), channels_last memory
    # layout, optional torch.compile of UNet and ControlNet
    dtype=None,
    channels_last=True,
    compile=False,
)
