# the Brazil orthophoto at alpha = 0.4 with the synthetic pairs' class
# boundaries unlabelled (IgnoreClassBoundaries: one pixel on each side),
# the real tiles' labels as they are.
_base_ = ['./deeplabv3plus_brazil_syn40.py']
train_dataloader = dict(
    dataset=dict(datasets=[
        {{_base_.real}},
        dict(
            type='DiffusionSynthDataset',
            source_dataset={{_base_.source_dataset}},
            data_root={{_base_.syn_data_root}},
            synthesis=dict(
                config='configs/demo/brazil/synth_small_brazil.py', num=720),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', reduce_zero_label=True),
                dict(type='IgnoreClassBoundaries', width=1),
                dict(type='RandomFlip', prob=0.5,
                     direction=['horizontal', 'vertical']),
                dict(type='PackSegInputs'),
            ],
            serialize_data=False),
    ]))
