"""Mask-image consistency of generated images as an mmengine metric."""
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmseg.registry import METRICS
from dldm_mmseg.evaluation.consistency import (ConsistencyChecker,
                                               consistency_areas,
                                               consistency_scores)


@METRICS.register_module()
class MaskImageConsistencyMetric(BaseMetric):
    """How far generated images show what their masks say: a reference
    segmentor trained on real data segments each image, and its prediction
    is scored against the mask the image was painted for (IoU summed over
    the evaluation set, as mmseg's ``IoUMetric``): ``consistency_mIoU``
    and ``consistency_IoU.<class>``, in percent. Next to the same
    segmentor's mIoU on real images, it says whether stage 2's pairs are
    labelled correctly (the demo's "mask-image consistency").

    Each data sample gives its image under ``image_key`` (``H x W x 3``
    uint8, what ``ControlNetImageGenerator.predict`` returns) and its mask
    as ``gt_sem_seg``. Classes come from the dataset's metainfo.

    Args:
        config (str): mmseg config of the reference segmentor.
        checkpoint (str): Its weights, trained on the real set (e.g. a
            ``*_syn0.py`` run).
        image_key (str): Sample key of the images. Defaults to
            ``'image'``.
        device (str, optional): Device of the reference segmentor.
    """

    def __init__(self, config: str, checkpoint: str,
                 image_key: str = 'image', device: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        for kind, path in (('config', config), ('checkpoint', checkpoint)):
            if not osp.isfile(str(path)):
                raise FileNotFoundError(
                    f'MaskImageConsistencyMetric: the reference segmentor '
                    f'{kind} {path} does not exist; train a real-only '
                    'segmentor first (e.g. tools/train.py '
                    'configs/deeplabv3plus_potsdam_syn0.py) and point '
                    'config / checkpoint at it')
        self.image_key = image_key
        self.checker = ConsistencyChecker(config, checkpoint, device=device)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            for key in (self.image_key, 'gt_sem_seg'):
                if key not in sample:
                    raise KeyError(f'MaskImageConsistencyMetric needs '
                                   f'"{key}" in each sample (sample '
                                   f'{sample.get("sample_id")})')
        images = [np.asarray(s[self.image_key], np.uint8)
                  for s in data_samples]
        pred, _ = self.checker.predict(images)
        num_classes = len(self.dataset_meta['classes'])
        for p, sample in zip(pred, data_samples):
            mask = sample['gt_sem_seg']['data'].squeeze(0).cpu()
            self.results.append(consistency_areas(p, mask, num_classes))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        intersect, union, pred, mask = (np.sum([r[k] for r in results],
                                               axis=0) for k in range(4))
        return consistency_scores(intersect, union,
                                  self.dataset_meta['classes'], pred, mask)
