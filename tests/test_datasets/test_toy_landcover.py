"""The built-in toy scenes: a test split drawn from its own stream."""
import filecmp
import os

import numpy as np
from PIL import Image

from dldm_mmseg.datasets.toy_landcover import make_toy_landcover


def test_test_split_leaves_train_and_val_as_they_were(tmp_path):
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    assert make_toy_landcover(a, 3, 2, size=32) == dict(train=3, val=2,
                                                        test=0)
    assert make_toy_landcover(b, 3, 2, size=32, num_test=2) == dict(
        train=3, val=2, test=2)
    for split in ('train', 'val'):
        for sub in ('img_dir', 'ann_dir'):
            names = sorted(os.listdir(f'{a}/{sub}/{split}'))
            assert names == sorted(os.listdir(f'{b}/{sub}/{split}'))
            match, mismatch, errors = filecmp.cmpfiles(
                f'{a}/{sub}/{split}', f'{b}/{sub}/{split}', names,
                shallow=False)
            assert not mismatch and not errors
    assert not os.path.exists(f'{a}/img_dir/test')
    for name in sorted(os.listdir(f'{b}/ann_dir/test')):
        test = np.asarray(Image.open(f'{b}/ann_dir/test/{name}'))
        val = np.asarray(Image.open(f'{b}/ann_dir/val/{name}'))
        assert not np.array_equal(test, val)  # its own scenes
