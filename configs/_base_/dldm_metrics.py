# Shared by every segmentation config of the project: import the plugin and
# report mIoU, mF1 (mmseg's IoUMetric with mFscore, plus per-class values)
# and mCPE (class-proportion error).
custom_imports = dict(imports=['dldm_mmseg'], allow_failed_imports=False)
dldm_evaluator = [
    dict(type='PerClassIoUMetric', iou_metrics=['mIoU', 'mFscore']),
    dict(type='ClassProportionMetric'),
]
