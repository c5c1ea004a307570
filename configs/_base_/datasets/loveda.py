# LoveDA, real data: mmseg's dataset settings (LoveDADataset, data/loveDA,
# from mmseg's tools/dataset_converters/loveda.py; 7 classes, 0 = no data)
# plus the project's plugin and metrics.
_base_ = ['mmseg::_base_/datasets/loveda.py']
custom_imports = dict(imports=['dldm_mmseg'], allow_failed_imports=False)
val_evaluator = [
    dict(type='PerClassIoUMetric', iou_metrics=['mIoU', 'mFscore']),
    dict(type='ClassProportionMetric'),
]
test_evaluator = val_evaluator
# a label above the class count names its file instead of failing in the
# loss (a bare IndexError; a device-side assert on a GPU)
custom_hooks = [dict(type='LabelRangeHook')]
