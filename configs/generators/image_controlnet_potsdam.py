# Stage 2 on Potsdam: colour mask + caption -> aerial image. A ControlNet
# initialised from the UNet of Stable Diffusion 1.5 (frozen). Paper
# settings: fp32, batch 12, lr 1e-5, 30 epochs; noise-prediction MSE
# (set image_loss_weight for the image-space term of Algorithm 1).
_base_ = ['./_base_/generator_runtime.py']
sd_folder = 'checkpoints/stable-diffusion-v1-5'
data_root = 'data/potsdam'
# the real set whose classes and palette the masks are drawn in (see
# mask_lora_potsdam.py)
__source_dataset = dict(type='PotsdamDataset')

model = dict(
    type='ControlNetImageGenerator',
    components=dict(pretrained=sd_folder),
    source_dataset=__source_dataset,
    image_loss_weight=0.0,
    gradient_checkpointing=True,
    inference_cfg=dict(scheduler='dpmsolver++', steps=20, guidance_scale=5.0))

train_dataloader = dict(
    batch_size=12,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='MaskCaptionDataset',
        data_root=data_root,
        captions='captions.jsonl',
        source_dataset=__source_dataset,
        load_image=True,
        prompt_order='caption+shares',
        caption_dropout=0.0,
        prompt_dropout=0.05))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-5, betas=(0.9, 0.999),
                   weight_decay=1e-2))
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30)
