from .class_proportion_metric import ClassProportionMetric

__all__ = ['ClassProportionMetric']
