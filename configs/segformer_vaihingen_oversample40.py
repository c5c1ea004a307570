# The paper's random-oversampling baseline (Sec. 3.3.3): real data only,
# with 0.4 x N_real extra draws per epoch of patches that hold car or
# clutter, the same epoch size as segformer_vaihingen_syn40.py.
_base_ = ['./segformer_vaihingen_syn0.py']
train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='InfiniteClassAwareOversampler',
        oversample_ratio=0.4,
        rare_classes=['car', 'clutter']))
