# As pspnet_vaihingen_syn40.py with alpha = 0.2.
_base_ = ['./pspnet_vaihingen_syn40.py']
train_dataloader = dict(sampler=dict(syn_ratio=0.2))
