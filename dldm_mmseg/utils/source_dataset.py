"""What a generator or a synthetic set needs to know about the real set:
its classes, palette and label encoding."""
import inspect
from typing import Dict

from mmseg.registry import DATASETS


def source_dataset_defaults(dataset_type: str) -> Dict:
    """Metainfo and label encoding of a registered real dataset class.

    Returns:
        dict: ``metainfo`` (classes, palette) and ``reduce_zero_label``
        (the class's constructor default).
    """
    cls = DATASETS.get(dataset_type)
    if cls is None:
        raise KeyError(f'source_dataset {dataset_type!r} is not a registered '
                       'dataset; use the real set\'s type, e.g. '
                       '"PotsdamDataset"')
    param = inspect.signature(cls.__init__).parameters.get('reduce_zero_label')
    reduce_zero_label = bool(param.default) if param is not None and \
        param.default is not inspect.Parameter.empty else False
    return dict(metainfo=dict(cls.METAINFO),
                reduce_zero_label=reduce_zero_label)
