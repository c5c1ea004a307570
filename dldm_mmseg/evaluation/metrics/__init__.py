from .class_proportion_metric import ClassProportionMetric
from .fid_metric import FIDMetric
from .per_class_iou_metric import PerClassIoUMetric

__all__ = ['ClassProportionMetric', 'PerClassIoUMetric', 'FIDMetric']
