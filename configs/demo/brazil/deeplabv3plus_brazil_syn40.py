# the Brazil orthophoto at alpha = 0.4 (tools/demo.py --dataset
# brazil_buildings, through tools/sweep.py).
_base_ = ['./deeplabv3plus_brazil_syn0.py']
# the demo's work dir
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo_brazil_buildings}}'
syn_data_root = __demo + '/data/brazil_syn'
train_dataloader = dict(
    sampler=dict(
        _delete_=True, type='InfiniteMixedRatioSampler', syn_ratio=0.4),
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            {{_base_.real}},
            dict(
                type='DiffusionSynthDataset',
                source_dataset={{_base_.source_dataset}},
                data_root=syn_data_root,
                synthesis=dict(
                    config='configs/demo/brazil/synth_small_brazil.py',
                    num=720),  # as many as the real training tiles
                pipeline={{_base_.train_pipeline}},
                serialize_data=False),
        ]))
