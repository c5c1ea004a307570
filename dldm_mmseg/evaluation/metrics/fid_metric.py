"""FID as an mmengine metric."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from PIL import Image

from mmseg.registry import METRICS
from dldm_mmseg.datasets.transforms import from_unit_range
from dldm_mmseg.evaluation.fid import (InceptionFeatures, feature_statistics,
                                       folder_statistics, frechet_distance)


@METRICS.register_module()
class FIDMetric(BaseMetric):
    """FID of evaluated images against reference images.

    Each data sample gives its image as ``img_path`` (read from disk) or as
    an ``H x W x 3`` uint8 array / ``3 x H x W`` tensor under
    ``image_key``; e.g. a test loop over a ``DiffusionSynthDataset`` with
    ``real_dir='data/potsdam/img_dir/train'`` reports the synthetic set's
    FID. Reference statistics are cached next to the reference images.
    With ``real_dir=None`` the reference is the real images of the
    evaluated samples themselves (the batch's ``real_key``, e.g. a
    ``MaskCaptionDataset`` with ``load_image=True``): a validation subset
    is then scored against the same scenes, not against the whole split.

    Args:
        real_dir (str, optional): Reference images; None for the batch's
            own real images.
        real_key (str): Batch key of the real images (``N x 3 x H x W``
            in [-1, 1]) when ``real_dir`` is None. Defaults to ``'image'``.
        inception (str, optional): Inception TorchScript file (see
            :func:`dldm_mmseg.evaluation.fid.find_inception_weights`).
        image_key (str): Sample key of in-memory images. Defaults to
            ``'gen_img'``.
        device (str, optional): Device of the Inception network.
    """

    default_prefix = 'fid'

    def __init__(self, real_dir: Optional[str],
                 inception: Optional[str] = None,
                 image_key: str = 'gen_img', device: Optional[str] = None,
                 real_key: str = 'image', collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.real_dir = real_dir
        self.image_key = image_key
        self.real_key = real_key
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
            self.results.append(('generated', feature))
        if self.real_dir is None:
            if self.real_key not in data_batch:
                raise KeyError(
                    f'FIDMetric(real_dir=None) scores against the batch\'s '
                    f'real images under "{self.real_key}", which this batch '
                    f'lacks (keys {sorted(data_batch)}); load them '
                    '(MaskCaptionDataset load_image=True) or give real_dir')
            real = from_unit_range(data_batch[self.real_key]).cpu().numpy()
            for feature in self.extractor(list(real)):
                self.results.append(('real', feature))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        generated = np.stack([f for kind, f in results if kind == 'generated'])
        mu, sigma = feature_statistics(generated)
        if self.real_dir is None:
            real = feature_statistics(np.stack(
                [f for kind, f in results if kind == 'real']))
        else:
            real = folder_statistics(self.real_dir, self.extractor,
                                     progress=False)
        return dict(FID=frechet_distance(*real, mu, sigma))
