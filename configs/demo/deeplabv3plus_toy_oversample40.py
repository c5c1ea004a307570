# The oversampling baseline on the toy set: 0.4 x N_real extra draws of
# patches holding car or clutter per epoch.
_base_ = ['./deeplabv3plus_toy_syn0.py']
train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='InfiniteClassAwareOversampler',
        oversample_ratio=0.4,
        rare_classes=['car', 'clutter']))
