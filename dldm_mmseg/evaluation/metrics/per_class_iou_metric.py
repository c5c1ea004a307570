"""mmseg's IoUMetric, also returning the per-class values it prints."""
from typing import Dict

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
    and reports, not only in the printed table. Same arguments as
    ``IoUMetric``.
    """

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
        return metrics
