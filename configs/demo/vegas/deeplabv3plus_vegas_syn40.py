# SpaceNet Las Vegas (roads) at alpha = 0.4 (tools/demo.py --dataset
# spacenet_vegas_roads, through tools/sweep.py).
_base_ = ['./deeplabv3plus_vegas_syn0.py']
# the demo's work dir
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo_spacenet_vegas_roads}}'
syn_data_root = __demo + '/data/vegas_syn'
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
                    config='configs/demo/vegas/synth_small_vegas.py',
                    num=375),  # as many as the real training tiles
                pipeline={{_base_.train_pipeline}},
                serialize_data=False),
        ]))
