# The toy DeepLabV3+ on real + synthetic scenes at alpha = 0.4 (tools/demo.py
# step 6, through tools/sweep.py). The synthetic dataset makes its set
# from the demo's generators when missing.
_base_ = ['./deeplabv3plus_toy_syn0.py']
__demo = '{{$DLDM_DEMO_DIR:work_dirs/demo}}'  # the demo's work dir
syn_data_root = __demo + '/data/toy_syn'
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
                source_dataset=dict(type='PotsdamDataset'),
                data_root=syn_data_root,
                synthesis=dict(
                    config='configs/demo/synth_small_toy.py',
                    num=160),  # as many as the real training scenes
                pipeline={{_base_.train_pipeline}},
                serialize_data=False),
        ]))
