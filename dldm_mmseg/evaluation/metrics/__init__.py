from .class_proportion_metric import ClassProportionMetric
from .per_class_iou_metric import PerClassIoUMetric

__all__ = ['ClassProportionMetric', 'PerClassIoUMetric']
