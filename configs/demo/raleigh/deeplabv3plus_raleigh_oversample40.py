# Landsat 7 land cover over Raleigh NC with random oversampling of the
# tiles holding its two rarest classes.
_base_ = ['./deeplabv3plus_raleigh_syn0.py']
train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='InfiniteClassAwareOversampler',
        oversample_ratio=0.4,
        rare_classes=['agriculture', 'water']))
