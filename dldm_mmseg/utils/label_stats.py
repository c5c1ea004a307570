"""Class shares of label maps, in one place for captions, samplers, metrics."""
from typing import Optional

import numpy as np
from PIL import Image


def to_train_ids(label: np.ndarray, reduce_zero_label: bool,
                 ignore_index: int = 255) -> np.ndarray:
    """Apply mmseg's ``reduce_zero_label`` (0 -> ignore, k -> k - 1)."""
    label = label.astype(np.int64)
    if reduce_zero_label:
        label = np.where(label == 0, ignore_index, label - 1)
        label[label == ignore_index - 1] = ignore_index
    return label


def from_train_ids(train_ids: np.ndarray, reduce_zero_label: bool,
                   ignore_index: int = 255) -> np.ndarray:
    """The label-file encoding of train ids: the inverse of
    :func:`to_train_ids` (under ``reduce_zero_label``, ignore -> 0 and
    k -> k + 1), as uint8."""
    train_ids = np.asarray(train_ids).astype(np.int64)
    if reduce_zero_label:
        train_ids = np.where(train_ids == ignore_index, 0, train_ids + 1)
    return train_ids.astype(np.uint8)


def as_stored(train_ids, num_classes: int,
              reduce_zero_label: Optional[bool],
              ignore_index: int = 255) -> tuple:
    """Out-of-range train ids as the label file holds them, and the range
    the file may hold, for error messages: ``([9], '1..6, with 0 and 255
    for ignore')`` under ``reduce_zero_label``, train ids otherwise.

    Returns:
        tuple: The first 10 distinct values (list of int) and the range.
    """
    wrong = np.unique(np.asarray(train_ids))[:10]
    if reduce_zero_label:
        return (wrong + 1).tolist(), \
            f'1..{num_classes}, with 0 and 255 for ignore'
    return wrong.tolist(), \
        f'0..{num_classes - 1}, with {ignore_index} for ignore'


def class_counts(label: np.ndarray, num_classes: int,
                 ignore_index: int = 255, path: Optional[str] = None,
                 reduce_zero_label: Optional[bool] = None) -> np.ndarray:
    """Pixel count per class of a train-id label map.

    Args:
        path (str, optional): The file the labels were read from, named in
            the error.
        reduce_zero_label (bool, optional): How the file's values became
            train ids (see :func:`to_train_ids`); given, the error quotes
            the values and the range as the file holds them.

    Raises:
        ValueError: When a value is neither a class nor ``ignore_index``.
    """
    label = np.asarray(label).reshape(-1)
    valid = label != ignore_index
    values = label[valid]
    bad = (values < 0) | (values >= num_classes)
    if bad.any():
        wrong, allowed = as_stored(values[bad], num_classes,
                                   reduce_zero_label, ignore_index)
        where = f' in {path}' if path else ''
        raise ValueError(
            f'label values {wrong}{where} are outside the '
            f'{num_classes} classes ({allowed}); check the dataset type '
            'and reduce_zero_label, or re-run the preparation tool')
    return np.bincount(values, minlength=num_classes).astype(np.int64)


def class_shares(label: np.ndarray, num_classes: int,
                 ignore_index: int = 255, path: Optional[str] = None,
                 reduce_zero_label: Optional[bool] = None) -> np.ndarray:
    """Share of each class among the valid pixels (zeros if none are valid;
    arguments as :func:`class_counts`)."""
    counts = class_counts(label, num_classes, ignore_index, path,
                          reduce_zero_label)
    total = counts.sum()
    return counts / total if total else counts.astype(np.float64)


def read_label_map(path: str) -> np.ndarray:
    """Read a single-channel label map as stored on disk.

    Raises:
        ValueError: Naming the file when it is not single-channel.
        FileNotFoundError / OSError: Naming the file when it is unreadable.
    """
    try:
        with Image.open(path) as img:
            if img.mode not in ('L', 'P', 'I', 'I;16'):
                raise ValueError(
                    f'{path} is a {img.mode} image, expected a single-channel '
                    'label map of class indices; convert colour masks with '
                    'tools/prepare_potsdam.py')
            return np.asarray(img)
    except FileNotFoundError:
        raise FileNotFoundError(f'label map {path} does not exist') from None
    except (OSError, SyntaxError) as e:
        raise OSError(f'cannot read label map {path}: {e}') from e


def class_proportion_error(pred_shares: np.ndarray,
                           target_shares: np.ndarray) -> np.ndarray:
    """Per-class |p_pred - p_target| in percent (the terms of mCPE).

    Args:
        pred_shares (np.ndarray): ``... x C`` shares (fractions).
        target_shares (np.ndarray): Same shape.

    Returns:
        np.ndarray: ``... x C`` absolute differences x 100.
    """
    pred_shares = np.asarray(pred_shares, dtype=np.float64)
    target_shares = np.asarray(target_shares, dtype=np.float64)
    if pred_shares.shape != target_shares.shape:
        raise ValueError(f'share arrays differ in shape: {pred_shares.shape} '
                         f'vs {target_shares.shape}')
    return np.abs(pred_shares - target_shares) * 100.0


def remove_isolated_pixels(labels: np.ndarray, min_neighbours: int
                           ) -> np.ndarray:
    """Relabel pixels with fewer than ``min_neighbours`` of their 8
    neighbours in the same class to the most frequent neighbouring value
    (ignore, 255, counts as a value of its own). Only neighbours inside
    the image count: a lone pixel on the border or in a corner is as
    isolated as one inside."""
    if min_neighbours <= 0:
        return labels
    values, dense = np.unique(labels, return_inverse=True)
    dense = dense.reshape(labels.shape)
    # outside the image: a value no pixel has, counted for no class
    padded = np.pad(dense, 1, mode='constant', constant_values=-1)
    h, w = labels.shape
    counts = np.zeros((len(values), h, w), dtype=np.int16)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy == dx == 1:
                continue
            window = padded[dy:dy + h, dx:dx + w]
            for c in range(len(values)):
                counts[c] += window == c
    same = np.take_along_axis(counts, dense[None].astype(np.int64), 0)[0]
    isolated = same < min_neighbours
    out = labels.copy()
    out[isolated] = values[counts.argmax(0)[isolated]]
    return out
