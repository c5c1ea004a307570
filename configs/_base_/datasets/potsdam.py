# ISPRS Potsdam, real data: mmseg's dataset settings (PotsdamDataset,
# data/potsdam, 512x512 crops) plus the project's plugin and metrics.
_base_ = ['mmseg::_base_/datasets/potsdam.py']
custom_imports = dict(imports=['dldm_mmseg'], allow_failed_imports=False)
val_evaluator = [
    # ISPRS results are quoted with and without clutter: both are reported
    # (mIoU_without_clutter; skipped for a dataset without that class)
    dict(type='PerClassIoUMetric', iou_metrics=['mIoU', 'mFscore'],
         optional_classes=['clutter']),
    dict(type='ClassProportionMetric'),
]
test_evaluator = val_evaluator
# a label above the class count names its file instead of failing in the
# loss (a bare IndexError; a device-side assert on a GPU)
custom_hooks = [dict(type='LabelRangeHook')]
