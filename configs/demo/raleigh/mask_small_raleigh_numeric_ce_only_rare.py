# Stage 1 (numeric + text, CE only) with the tiles holding Raleigh's two
# rarest classes drawn 0.4 x N extra times per epoch, as the oversampling
# baseline draws them for the segmentor; fewer epochs keep about the
# number of iterations (505 draws / 16 = 32 per epoch; 29 epochs = 928
# iterations against 920; the cosine schedule still ends at 920).
_base_ = ['./mask_small_raleigh_numeric_ce_only.py']
train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='ClassAwareOversampler',
        oversample_ratio=0.4,
        rare_classes=['agriculture', 'water'],
        shuffle=True))
max_epochs = 29
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
