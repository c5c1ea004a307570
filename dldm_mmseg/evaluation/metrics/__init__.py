from .class_proportion_metric import ClassProportionMetric
from .consistency_metric import MaskImageConsistencyMetric
from .fid_metric import FIDMetric
from .per_class_iou_metric import PerClassIoUMetric

__all__ = ['ClassProportionMetric', 'PerClassIoUMetric', 'FIDMetric',
           'MaskImageConsistencyMetric']
