# The random-oversampling baseline on LoveDA: real data only, with
# 0.4 x N_real extra draws per epoch of tiles that hold barren or water
# (the rarest classes), the same epoch size as deeplabv3plus_loveda_syn40.py.
_base_ = ['./deeplabv3plus_loveda_syn0.py']
train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='InfiniteClassAwareOversampler',
        oversample_ratio=0.4,
        rare_classes=['barren', 'water']))
