# As segformer_potsdam_syn40.py with alpha = 1.
_base_ = ['./segformer_potsdam_syn40.py']
train_dataloader = dict(sampler=dict(syn_ratio=1))
