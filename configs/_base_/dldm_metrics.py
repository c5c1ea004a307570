# Shared by every segmentation config of the project: import the plugin and
# report mIoU, mF1 (mmseg's IoUMetric with mFscore, plus per-class values)
# and mCPE (class-proportion error).
custom_imports = dict(imports=['dldm_mmseg'], allow_failed_imports=False)
dldm_evaluator = [
    # ISPRS results are quoted with and without clutter: both are reported
    # (mIoU_without_clutter; skipped for a dataset without that class)
    dict(type='PerClassIoUMetric', iou_metrics=['mIoU', 'mFscore'],
         optional_classes=['clutter']),
    dict(type='ClassProportionMetric'),
]
