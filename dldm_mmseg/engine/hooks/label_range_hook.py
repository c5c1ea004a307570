"""Labels checked where they enter training, naming the file."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS
from dldm_mmseg.utils.label_stats import as_stored


@HOOKS.register_module()
class LabelRangeHook(Hook):
    """Refuse a batch whose labels hold a value that is neither a class nor
    the ignore index, naming the label file.

    Without it, a label above the class count ends a run inside the loss as
    a bare ``IndexError`` (a device-side assert on a GPU) with no file
    named. The check is one ``max`` per label map of the batch, before the
    forward pass, on train and validation batches.

    Args:
        num_classes (int, optional): Defaults to the model's
            ``decode_head.num_classes``.
        ignore_index (int): Defaults to 255.
    """

    priority = 'VERY_HIGH'

    def __init__(self, num_classes: Optional[int] = None,
                 ignore_index: int = 255) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def _classes(self, runner) -> Optional[int]:
        if self.num_classes is None:
            model = runner.model.module if is_model_wrapper(runner.model) \
                else runner.model
            head = getattr(model, 'decode_head', None)
            self.num_classes = getattr(head, 'num_classes', None)
        return self.num_classes

    def check(self, runner, data_batch) -> None:
        """Raise ``ValueError`` for the first out-of-range label map."""
        num_classes = self._classes(runner)
        if num_classes is None or not isinstance(data_batch, dict):
            return
        for sample in data_batch.get('data_samples') or []:
            gt = getattr(sample, 'gt_sem_seg', None)
            if gt is None:
                continue
            labels = gt.data
            bad = (labels != self.ignore_index) & (
                (labels < 0) | (labels >= num_classes))
            if bad.any():
                path = sample.metainfo.get('seg_map_path', '?')
                shown, allowed = as_stored(
                    labels[bad].cpu().numpy(), num_classes,
                    sample.metainfo.get('reduce_zero_label', False),
                    self.ignore_index)
                raise ValueError(
                    f'label values {shown} in {path} are outside the '
                    f'{num_classes} classes of the model ({allowed}); fix '
                    'the label map, or the dataset\'s reduce_zero_label and '
                    'the heads\' num_classes')

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self.check(runner, data_batch)

    def before_val_iter(self, runner, batch_idx: int,
                        data_batch=None) -> None:
        self.check(runner, data_batch)
