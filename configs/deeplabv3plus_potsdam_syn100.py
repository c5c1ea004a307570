# As deeplabv3plus_potsdam_syn40.py with alpha = 1.
_base_ = ['./deeplabv3plus_potsdam_syn40.py']
train_dataloader = dict(sampler=dict(syn_ratio=1))
