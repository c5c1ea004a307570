# Runtime shared by the generator configs (stage 1 and 2): epoch-based
# training, checkpoints of the trainable weights only, diffusers-format
# export, sample grids and the random states a resumed run continues
# from. Validation (val_dataloader/val_cfg/val_evaluator) is set by the
# stage configs that have a metric for it (stage 1: mCPE).
default_scope = 'mmseg'
custom_imports = dict(imports=['dldm_mmseg'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=42)  # the paper's seed
# with a launcher: mmengine's DDP wrapper plus the generators' EMA update
model_wrapper_cfg = dict(type='mmseg.GeneratorDistributedDataParallel')

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1,
                    max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))
custom_hooks = [
    dict(type='GeneratorExportHook'),
    dict(type='RandomStateHook'),
    dict(type='GeneratorSampleHook', interval=500),
]
