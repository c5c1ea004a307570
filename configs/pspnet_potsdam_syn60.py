# As pspnet_potsdam_syn40.py with alpha = 0.6.
_base_ = ['./pspnet_potsdam_syn40.py']
train_dataloader = dict(sampler=dict(syn_ratio=0.6))
