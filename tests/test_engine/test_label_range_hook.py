"""Out-of-range labels name their file before the loss sees them."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.structures import PixelData

from mmseg.structures import SegDataSample
from dldm_mmseg.engine.hooks import LabelRangeHook


def batch(*labels, reduce_zero_label=True):
    samples = []
    for k, values in enumerate(labels):
        sample = SegDataSample(metainfo=dict(
            seg_map_path=f'ann_dir/train/{k}.png',
            reduce_zero_label=reduce_zero_label))
        sample.gt_sem_seg = PixelData(data=torch.tensor(values)[None])
        samples.append(sample)
    return dict(inputs=[], data_samples=samples)


def test_names_the_file_and_quotes_its_values():
    runner = SimpleNamespace(model=SimpleNamespace(
        decode_head=SimpleNamespace(num_classes=6)))
    hook = LabelRangeHook()
    hook.before_train_iter(runner, 0, batch([[0, 5, 255]], [[1, 2, 3]]))
    # train id 8 is the file's 9 under reduce_zero_label
    with pytest.raises(ValueError, match=r'\[9\] in ann_dir/train/1.png are '
                       r'outside the 6 classes of the model \(1..6, with 0'):
        hook.before_train_iter(runner, 0, batch([[0, 5]], [[8, 255]]))
    with pytest.raises(ValueError, match=r'\[6\] in ann_dir/train/0.png .*'
                       r'\(0..5, with 255 for ignore\)'):
        hook.before_val_iter(runner, 0, batch(
            [[6, 0]], reduce_zero_label=False))
    # an explicit class count wins over the model's
    with pytest.raises(ValueError, match='outside the 3 classes'):
        LabelRangeHook(num_classes=3).before_train_iter(
            runner, 0, batch([[4]]))
