"""A figure of what stage 2 paints for real masks in a test loop."""
import numpy as np
from mmengine.hooks import Hook

from mmseg.registry import HOOKS
from dldm_mmseg.datasets.transforms import from_unit_range
from dldm_mmseg.utils.io import atomic_write_image


@HOOKS.register_module()
class Stage2FigureHook(Hook):
    """Real images, the images stage 2 painted for their masks in a test
    loop and the masks (the first ``num`` samples), as one figure of three
    rows, written when the loop ends.

    Args:
        path (str): The PNG file to write.
        num (int): Samples in the figure. Defaults to 8.
    """

    def __init__(self, path: str, num: int = 8) -> None:
        self.path, self.num = path, num
        self.rows = ([], [], [])  # real, painted, masks

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        real, painted, masks = self.rows
        for i, sample in enumerate(outputs):
            if len(painted) == self.num:
                return
            real.append(_to_uint8(data_batch['image'][i]))
            painted.append(sample.metainfo['image'])
            masks.append(_to_uint8(data_batch['mask'][i]))

    def after_test_epoch(self, runner, metrics=None) -> None:
        atomic_write_image(self.path, np.concatenate(
            [np.concatenate(row, 1) for row in self.rows]))


def _to_uint8(pixels) -> np.ndarray:
    """``3 x H x W`` in [-1, 1] -> ``H x W x 3`` uint8."""
    return from_unit_range(pixels).numpy()
