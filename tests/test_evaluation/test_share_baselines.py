"""The prompt-ignoring baselines beside every stage-1 mCPE."""
import numpy as np
import pytest

from dldm_mmseg.datasets.captioning import write_captions
from dldm_mmseg.evaluation.share_baselines import (
    share_baselines, share_baselines_from_captions)
from fixtures import POTSDAM_CLASSES, make_seg_dataset


def test_baselines_by_hand():
    train = np.array([[1.0, 0.0], [0.5, 0.5]])
    target = np.array([[0.25, 0.75]])
    out = share_baselines(train, target, ('a', 'b'))
    # the mean train mask is (0.75, 0.25): 50 points off on both classes
    assert out['prompt_blind'] == dict(mCPE=50.0, CPE=dict(a=50.0, b=50.0))
    # a random train mask is 75 or 25 points off: 50 expected
    assert out['real_mask']['mCPE'] == 50.0
    target = np.array([[1.0, 0.0], [0.5, 0.5]])
    out = share_baselines(train, target, ('a', 'b'))
    assert out['prompt_blind']['mCPE'] == 25.0
    assert out['real_mask']['mCPE'] == 25.0  # (0 + 50) / 2 per prompt
    uneven = share_baselines(np.array([[1.0, 0.0], [0.9, 0.1], [0.8, 0.2]]),
                             np.array([[0.9, 0.1]]), ('a', 'b'))
    assert uneven['prompt_blind']['mCPE'] == 0.0
    assert uneven['real_mask']['CPE'] == dict(a=6.667, b=6.667)
    with pytest.raises(ValueError, match='do not both hold 3 classes'):
        share_baselines(train, np.ones((1, 3)), ('a', 'b', 'c'))


def test_baselines_from_captions(tmp_path):
    root = make_seg_dataset(str(tmp_path / 'data'), num_train=6, num_val=3)
    for split in ('train', 'val'):
        write_captions(root, POTSDAM_CLASSES, True, img_dir=f'img_dir/{split}',
                       ann_dir=f'ann_dir/{split}',
                       out_file=f'captions_{split}.jsonl')
    out = share_baselines_from_captions(
        f'{root}/captions_train.jsonl', f'{root}/captions_val.jsonl',
        POTSDAM_CLASSES)
    assert set(out['prompt_blind']['CPE']) == set(POTSDAM_CLASSES)
    assert out['prompt_blind']['mCPE'] > 0
    # the mean mask is never further off than a random one (convexity)
    assert out['prompt_blind']['mCPE'] <= out['real_mask']['mCPE']
    same = share_baselines_from_captions(
        f'{root}/captions_train.jsonl', f'{root}/captions_train.jsonl',
        POTSDAM_CLASSES)
    assert same['real_mask']['mCPE'] > 0
