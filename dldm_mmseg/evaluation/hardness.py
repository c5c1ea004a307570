"""How hard each real patch is for a segmentor: the draw weights of
hardness-aware sampling (``synthesis.shares.patch_hardness``)."""
import json
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np

from dldm_mmseg.evaluation.consistency import pixel_loss
from dldm_mmseg.utils.io import atomic_open, read_jsonl
from dldm_mmseg.utils.progress import progress_bar


def captioned_pairs(data_root: str, captions: str,
                    ids: Optional[Sequence[str]] = None) -> list:
    """The ``(id, image, label)`` paths of a captions file's records
    (``img_path`` and ``seg_map_path``, relative to ``data_root``), or of
    those with the given ``ids``.

    Raises:
        ValueError: Naming the file and line of a record without the paths
            or whose files do not exist, or the ids it does not hold.
    """
    pairs = []
    for line_no, record in enumerate(read_jsonl(captions), 1):
        if ids is not None and record.get('id') not in ids:
            continue
        paths = [osp.join(data_root, record.get(k) or '')
                 for k in ('img_path', 'seg_map_path')]
        if not all(osp.isfile(p) for p in paths):
            raise ValueError(
                f'{captions}:{line_no} names no image and label map under '
                f'{data_root} (img_path {record.get("img_path")!r}, '
                f'seg_map_path {record.get("seg_map_path")!r}); write the '
                'captions again with tools/caption.py --overwrite, or give '
                'the data root they were written for')
        pairs.append((record['id'], *paths))
    if ids is not None:
        lacking = sorted(set(ids) - {p[0] for p in pairs})
        if lacking:
            raise ValueError(f'{captions} holds no patch {lacking[:3]} '
                             f'({len(lacking)} of the ids asked for)')
    return pairs


def patch_hardness(checker, pairs: Sequence[tuple]) -> Dict[str, float]:
    """Each patch's mean cross-entropy of its labels under a segmentor.

    Args:
        checker: A :class:`~dldm_mmseg.evaluation.consistency.
            ConsistencyChecker` holding the segmentor (its
            ``labelled_probabilities`` reads the pairs).
        pairs (Sequence[tuple]): ``(id, image, label)`` paths
            (:func:`captioned_pairs`).

    Returns:
        dict: id -> mean loss over the patch's valid pixels (0 for a patch
        with none).
    """
    bar = progress_bar(len(pairs), 'patch hardness')
    out = {}
    for (name, _, _), (probs, label) in zip(
            pairs, checker.labelled_probabilities(
                [(image, label) for _, image, label in pairs])):
        loss, valid = pixel_loss(probs, label)
        out[name] = round(float(loss[valid].mean()), 6) if valid.any() \
            else 0.0
        bar.update()
    return out


def write_hardness(path: str, hardness: Dict[str, float],
                   **provenance) -> dict:
    """Write a hardness file (``hardness``: id -> value, beside what made
    it) atomically; with ``path`` existing, its values for other ids are
    kept, so folds scored one by one build one file.

    Returns:
        dict: What was written.
    """
    record = dict(measure='mean cross-entropy of the labels', hardness={})
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            record = json.load(f)
    record['hardness'].update(hardness)
    record.setdefault('made_by', []).append(dict(
        provenance, patches=len(hardness),
        mean=round(float(np.mean(list(hardness.values()))), 6)
        if hardness else None))
    with atomic_open(path) as f:
        json.dump(record, f, indent=1, sort_keys=True)
    return record
