# PSPNet R50-D8 on ISPRS Vaihingen, real + synthetic at alpha = N_syn / N_real
# = 0.4 per epoch (the paper's best ratio). The synthetic set is read from
# syn_data_root (built by tools/synthesize.py); the sibling configs change
# only train_dataloader.sampler.syn_ratio. SynthesisHook builds the set
# first when it is missing or incomplete (from the generators named in
# configs/synth/vaihingen.py), and reuses it when complete.
_base_ = ['./_base_/pspnet_vaihingen_real.py']
syn_data_root = 'data/vaihingen_syn'
train_dataloader = dict(
    sampler=dict(
        _delete_=True, type='InfiniteMixedRatioSampler', syn_ratio=0.4),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            {{_base_.train_dataloader.dataset}},
            dict(
                type='DiffusionSynthDataset',
                source_dataset=dict(type='ISPRSDataset'),
                data_root=syn_data_root,
                pipeline={{_base_.train_pipeline}}),
        ]))
custom_hooks = [
    dict(
        type='SynthesisHook',
        synth_config='configs/synth/vaihingen.py',
        num=344,  # as many as the real training patches: alpha <= 1
        out_dir=syn_data_root),
]
