# Stage 2 on Potsdam with its validation (the paper's Table 2 metrics for
# images): every 5 epochs stage 2 paints images for the masks and captions
# of 200 held-out val patches drawn evenly over the val tiles, scored by
# FID against the real images of the same patches
# and by mask-image consistency (a real-only segmentor's mIoU on them
# against their masks; compare it with the same segmentor's mIoU on the real
# val images). `tools/test.py` with this config and a checkpoint evaluates a
# trained stage 2 the same way. Needs the Inception weights (README,
# "Pretrained weights"), captions_val.jsonl (as stage 1) and a trained
# real-only segmentor: `tools/train.py configs/deeplabv3plus_potsdam_syn0.py`
# first, or point `reference` at yours. Without them, train with
# image_controlnet_potsdam.py.
_base_ = ['./image_controlnet_potsdam.py', './_base_/potsdam_captions_val.py']
data_root = 'data/potsdam'
reference = dict(
    config='configs/deeplabv3plus_potsdam_syn0.py',
    checkpoint='work_dirs/deeplabv3plus_potsdam_syn0/iter_80000.pth')

val_dataloader = dict(
    batch_size=12,
    dataset=dict(prompt_order='caption+shares', load_image=True))
val_evaluator = [
    # against the real images of the same 200 patches
    dict(type='FIDMetric', real_dir=None, image_key='image'),
    dict(type='MaskImageConsistencyMetric', **reference),
]
test_dataloader = val_dataloader
test_evaluator = val_evaluator
train_cfg = dict(val_interval=5)
