# Shared by every segmentation config of the project: import the plugin and
# report mIoU, mF1 (IoUMetric's mFscore) and mCPE (class-proportion error).
custom_imports = dict(imports=['dldm_mmseg'], allow_failed_imports=False)
dldm_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU', 'mFscore']),
    dict(type='ClassProportionMetric'),
]
