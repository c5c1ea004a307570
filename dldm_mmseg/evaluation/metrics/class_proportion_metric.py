"""mCPE, the mean class-proportion error of the paper (Sec. 3.2.1)."""
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from prettytable import PrettyTable

from mmseg.registry import METRICS
from dldm_mmseg.utils.label_stats import class_proportion_error, class_shares


@METRICS.register_module()
class ClassProportionMetric(BaseMetric):
    """Mean class-proportion error (mCPE), in percent.

    mCPE = mean over samples and classes of ``|p_pred,c - p_target,c|`` x
    100, where ``p`` are class shares over the valid (non-ignored) pixels.
    ``p_pred`` comes from ``pred_sem_seg``; ``p_target`` from the sample's
    ``target_shares`` metainfo (the prompt's shares, for generated masks) or
    else from ``gt_sem_seg``. Also reports the per-class CPE as
    ``CPE.<class>``.

    It works next to mmseg's ``IoUMetric`` in a segmentation config::

        val_evaluator = [
            dict(type='IoUMetric', iou_metrics=['mIoU', 'mFscore']),
            dict(type='ClassProportionMetric')]

    Args:
        ignore_index (int): Label value to skip. Defaults to 255.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Metric name prefix. Defaults to None.
    """

    def __init__(self,
                 ignore_index: int = 255,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index = ignore_index

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store the per-class errors of each sample."""
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze().cpu().numpy()
            valid = np.ones(pred.shape, dtype=bool)
            if 'gt_sem_seg' in sample:
                gt = sample['gt_sem_seg']['data'].squeeze().cpu().numpy()
                valid = gt != self.ignore_index
            if sample.get('target_shares') is not None:
                target = np.asarray(sample['target_shares'], dtype=np.float64)
            elif 'gt_sem_seg' in sample:
                target = class_shares(gt, num_classes, self.ignore_index,
                                      sample.get('seg_map_path'))
            else:
                raise KeyError(
                    'ClassProportionMetric needs gt_sem_seg or target_shares '
                    f'in each sample; {sample.get("img_path", "a sample")} '
                    'has neither')
            pred = np.where(valid, pred, self.ignore_index)
            shares = class_shares(pred, num_classes, self.ignore_index)
            self.results.append(class_proportion_error(shares, target))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Average the stored errors into mCPE and per-class CPE."""
        errors = np.stack(results)  # samples x classes
        per_class = errors.mean(0)
        metrics = OrderedDict(mCPE=float(np.round(errors.mean(), 3)))
        table = PrettyTable(field_names=['Class', 'CPE (%)'])
        for name, value in zip(self.dataset_meta['classes'], per_class):
            metrics[f'CPE.{name}'] = float(np.round(value, 3))
            table.add_row([name, f'{value:.3f}'])
        print_log('class proportion error per class:\n' + table.get_string(),
                  logger=MMLogger.get_current_instance())
        return metrics
