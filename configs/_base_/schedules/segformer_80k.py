# mmseg's 80k schedule with the optimiser and warm-up of the stock SegFormer
# configs (segformer_mit-b0_8xb2-160k_ade20k-512x512.py) scaled to 80k
# iterations: mmseg ships no SegFormer config for the ISPRS sets.
_base_ = ['mmseg::_base_/schedules/schedule_80k.py']
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys={
            'pos_block': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.),
            'head': dict(lr_mult=10.)
        }))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=80000,
        by_epoch=False)
]
