# the Brazil orthophoto with random oversampling of building tiles.
_base_ = ['./deeplabv3plus_brazil_syn0.py']
train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='InfiniteClassAwareOversampler',
        oversample_ratio=0.4,
        rare_classes=['building']))
