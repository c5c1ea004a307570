"""Label encodings: train ids and the values label files hold."""
import numpy as np

from dldm_mmseg.utils.label_stats import from_train_ids, to_train_ids


def test_from_train_ids_inverts_reduce_zero_label():
    stored = np.array([[0, 1, 6], [3, 0, 2]], np.uint8)  # 0 = ignore
    train = to_train_ids(stored, reduce_zero_label=True)
    assert train.tolist() == [[255, 0, 5], [2, 255, 1]]
    back = from_train_ids(train, reduce_zero_label=True)
    assert back.dtype == np.uint8 and np.array_equal(back, stored)


def test_from_train_ids_keeps_ids_without_reduce_zero_label():
    train = np.array([[0, 255, 5]])
    assert from_train_ids(train, reduce_zero_label=False).tolist() == \
        [[0, 255, 5]]
