# Stage 1 on Potsdam as the paper trains it: text (class shares + caption)
# -> colour label mask.
# Stable Diffusion 1.5 from a local folder + LoRA rank 32; loss = diffusion
# + 0.5 CE + 0.5 L_prop on the decoded x0 mask (L_prop summed over classes,
# on the scale of CE; see LoRAMaskGenerator). Paper settings: fp16,
# batch 16, AdamW lr 1e-4 (betas 0.9/0.999, weight decay), constant lr,
# seed 42, 50 epochs.
_base_ = ['./_base_/generator_runtime.py', './_base_/potsdam_captions_val.py']
sd_folder = 'checkpoints/stable-diffusion-v1-5'
data_root = 'data/potsdam'
# the real set whose classes and palette the masks are drawn in (a name
# with two leading underscores stays in this file: a child config states
# its own set in the fields below, see docs/configs.md)
__source_dataset = dict(type='PotsdamDataset')

model = dict(
    type='LoRAMaskGenerator',
    components=dict(pretrained=sd_folder),
    source_dataset=__source_dataset,
    lora_rank=32,
    ce_weight=0.5,
    prop_weight=0.5,
    temperature=0.25,  # relative to the closest palette colours (4 nats)
    frozen_dtype='fp16',
    gradient_checkpointing=True,
    inference_cfg=dict(scheduler='dpmsolver++', steps=20, guidance_scale=5.0))

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='MaskCaptionDataset',
        data_root=data_root,
        captions='captions.jsonl',
        source_dataset=__source_dataset,
        prompt_order='shares+caption',
        caption_dropout=0.1,
        prompt_dropout=0.05))

optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='float16',
    loss_scale='dynamic',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-2))
param_scheduler = []  # constant learning rate
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=5)

# Validation: masks drawn for the shares of held-out patches (200 val
# patches spread over the val tiles; captions_val.jsonl from
# `tools/caption.py data/potsdam --split val --out captions_val.jsonl`),
# scored by mCPE (the paper's Table 2) every val_interval epochs;
# `tools/test.py CONFIG CHECKPOINT` evaluates a trained generator the same
# way.
val_dataloader = dict(dataset=dict(
    data_root=data_root, source_dataset=__source_dataset,
    prompt_order='shares+caption'))
val_evaluator = dict(type='ClassProportionMetric')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
