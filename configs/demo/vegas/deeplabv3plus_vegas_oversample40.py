# SpaceNet Las Vegas roads with random oversampling of road tiles.
_base_ = ['./deeplabv3plus_vegas_syn0.py']
train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='InfiniteClassAwareOversampler',
        oversample_ratio=0.4,
        rare_classes=['road']))
