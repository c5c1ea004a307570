"""mmseg's IoUMetric, also returning the per-class values it prints."""
from typing import Dict, Sequence

import numpy as np
import torch

from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class PerClassIoUMetric(IoUMetric):
    """:class:`mmseg.evaluation.IoUMetric` plus per-class results.

    Besides ``mIoU``/``mFscore``/... it returns ``IoU.<class>``,
    ``Fscore.<class>`` etc. (in percent), so the rare classes the synthetic
    data is for (car, clutter) show up in the log, the visualizer's scalars
    and reports, not only in the printed table.

    ``optional_classes`` adds ``mIoU_without_<names>``: the mean IoU over
    the other classes, the second convention results are quoted in (ISPRS
    Potsdam and Vaihingen with and without clutter). Names the dataset does
    not have are skipped, so configs inheriting this setting for another
    dataset keep working. Other arguments as ``IoUMetric``.
    """

    def __init__(self, *args, optional_classes: Sequence[str] = (),
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.optional_classes = tuple(optional_classes)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        metrics = super().compute_metrics(results)
        area = [sum(r[i] for r in results) for i in range(4)]
        per_class = self.total_area_to_metrics(*area, self.metrics,
                                               self.nan_to_num, self.beta)
        per_class.pop('aAcc', None)
        for name, values in per_class.items():
            if isinstance(values, torch.Tensor):
                values = values.numpy()
            for cls, value in zip(self.dataset_meta['classes'], values):
                metrics[f'{name}.{cls}'] = float(np.round(value * 100, 2))
        classes = list(self.dataset_meta['classes'])
        optional = [c for c in self.optional_classes if c in classes]
        if optional and 'IoU' in per_class:
            iou = np.asarray(per_class['IoU'], dtype=np.float64)
            keep = [i for i, c in enumerate(classes) if c not in optional]
            metrics['mIoU_without_' + '+'.join(optional)] = float(np.round(
                np.nanmean(iou[keep]) * 100, 2))
        return metrics
