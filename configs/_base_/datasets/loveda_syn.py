# LoveDA, real + synthetic: the real training set concatenated with
# the synthetic set in syn_data_root, drawn at alpha = N_syn / N_real = 0.4
# per epoch (the paper's best ratio; leaves change syn_ratio only).
# The synthetic dataset makes its set first when it is missing or
# incomplete (from the generators named in its synthesis config), and
# reuses it when complete.
_base_ = ['./loveda.py']
syn_data_root = 'data/loveDA_syn'
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
                source_dataset=dict(type='LoveDADataset'),
                data_root=syn_data_root,
                # as many pairs as real training patches: alpha <= 1
                synthesis=dict(
                    config='configs/synth/loveda.py',
                    num=2522),
                pipeline={{_base_.train_pipeline}}),
        ]))
