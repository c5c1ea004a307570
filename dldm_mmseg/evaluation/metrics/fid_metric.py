"""FID as an mmengine metric."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from PIL import Image

from mmseg.registry import METRICS
from dldm_mmseg.evaluation.fid import (InceptionFeatures, feature_statistics,
                                       folder_statistics, frechet_distance)


@METRICS.register_module()
class FIDMetric(BaseMetric):
    """FID of evaluated images against a reference image folder.

    Each data sample gives its image as ``img_path`` (read from disk) or as
    an ``H x W x 3`` uint8 array / ``3 x H x W`` tensor under
    ``image_key``; e.g. a test loop over a ``DiffusionSynthDataset`` with
    ``real_dir='data/potsdam/img_dir/train'`` reports the synthetic set's
    FID. Reference statistics are cached next to the reference images.

    Args:
        real_dir (str): Reference images.
        inception (str, optional): Inception TorchScript file (see
            :func:`dldm_mmseg.evaluation.fid.find_inception_weights`).
        image_key (str): Sample key of in-memory images. Defaults to
            ``'gen_img'``.
        device (str, optional): Device of the Inception network.
    """

    default_prefix = 'fid'

    def __init__(self, real_dir: str, inception: Optional[str] = None,
                 image_key: str = 'gen_img', device: Optional[str] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.real_dir = real_dir
        self.image_key = image_key
        self.extractor = InceptionFeatures(inception, device)

    def _image(self, sample) -> np.ndarray:
        image = sample.get(self.image_key)
        if image is None:
            if 'img_path' not in sample:
                raise KeyError(f'FIDMetric needs "{self.image_key}" or '
                               '"img_path" in each sample')
            return np.asarray(Image.open(sample['img_path']).convert('RGB'))
        image = image.cpu().numpy() if hasattr(image, 'cpu') else \
            np.asarray(image)
        if image.ndim == 3 and image.shape[0] == 3 and image.shape[-1] != 3:
            image = image.transpose(1, 2, 0)
        return image.astype(np.uint8)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        images = [self._image(s) for s in data_samples]
        for feature in self.extractor(images):
            self.results.append(feature)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        mu, sigma = feature_statistics(np.stack(results))
        real = folder_statistics(self.real_dir, self.extractor,
                                 progress=False)
        return dict(FID=frechet_distance(*real, mu, sigma))
