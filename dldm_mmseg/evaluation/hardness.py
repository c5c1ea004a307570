"""How hard each real patch is for a segmentor: the draw weights of
hardness-aware sampling (``synthesis.shares.patch_hardness``)."""
import json
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np

from dldm_mmseg.datasets.captioning import captioned_files
from dldm_mmseg.evaluation.consistency import pixel_loss
from dldm_mmseg.utils.hashing import file_sha256
from dldm_mmseg.utils.io import atomic_open
from dldm_mmseg.utils.progress import progress_bar

MEASURE = 'mean cross-entropy of the labels'


def captioned_pairs(data_root: str, captions: str,
                    ids: Optional[Sequence[str]] = None) -> list:
    """The ``(id, image, label)`` paths of a captions file's records.

    Args:
        data_root (str): The folder the records' ``img_path`` and
            ``seg_map_path`` are relative to.
        captions (str): The captions file (``tools/caption.py``).
        ids (Sequence[str], optional): Only the records with these ids.

    Raises:
        ValueError: Naming the file and line of a record without the paths
            or whose files do not exist, or the ids it does not hold.
    """
    return captioned_files(captions, data_root, ('img_path', 'seg_map_path'),
                           ids, needed_by='tools/patch_hardness.py')


def patch_hardness(checker, pairs: Sequence[tuple],
                   classes: Optional[Sequence[int]] = None
                   ) -> Dict[str, float]:
    """Each patch's mean cross-entropy of its labels under a segmentor.

    Args:
        checker: A :class:`~dldm_mmseg.evaluation.consistency.
            ConsistencyChecker` holding the segmentor (its
            ``labelled_probabilities`` reads the pairs).
        pairs (Sequence[tuple]): ``(id, image, label)`` paths
            (:func:`captioned_pairs`).
        classes (Sequence[int], optional): Only the pixels labelled with
            these train ids count (e.g. the background a segmentor
            mistakes for buildings); all valid pixels by default.

    Returns:
        dict: id -> mean loss over the patch's counted pixels (0 for a
        patch with none, which is then never drawn).
    """
    bar = progress_bar(len(pairs), 'patch hardness')
    out = {}
    for (name, _, _), (probs, label) in zip(
            pairs, checker.labelled_probabilities(
                [(image, label) for _, image, label in pairs])):
        loss, counted = pixel_loss(probs, label)
        if classes is not None:
            counted &= np.isin(label, list(classes))
        out[name] = float(loss[counted].mean()) if counted.any() else 0.0
        bar.update()
    return out


def measure_name(classes: Optional[Sequence[str]] = None) -> str:
    """What a hardness file measures: the labels' mean cross-entropy, of
    the named classes' pixels only when ``classes`` are given."""
    return MEASURE + (f' of {", ".join(classes)}' if classes else '')


def write_hardness(path: str, hardness: Dict[str, float], data_root: str,
                   captions: str, measure: str = MEASURE,
                   **provenance) -> dict:
    """Write a hardness file atomically: ``hardness`` (id -> value), the
    captions file it keys (by hash) and what scored each part
    (``made_by``). An existing file at ``path`` for the same captions keeps
    its values for other ids, so folds scored one by one build one file.

    Args:
        path (str): The JSON file.
        hardness (dict): id -> hardness of the patches scored now.
        data_root (str): The real data root the patches are in.
        captions (str): The captions file they were read from.
        measure (str): What the values are (:func:`measure_name`).
        **provenance: What scored them (config, checkpoint, ids file).

    Returns:
        dict: What was written.

    Raises:
        ValueError: When ``path`` holds another measure or the hardness of
            other captions.
    """
    digest = file_sha256(captions)[:16]
    record = dict(measure=measure, captions_sha256=digest, hardness={})
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            old = json.load(f)
        if not isinstance(old, dict) or old.get('measure') != measure or \
                old.get('captions_sha256') != digest:
            raise ValueError(
                f'{path} is not a hardness file of {captions} as it is now '
                '(another measure, or other captions): give another --out, '
                'or delete it to score every fold again')
        record = old
    record['hardness'].update(hardness)
    values = np.array(list(hardness.values()), dtype=np.float64)
    record.setdefault('made_by', []).append(dict(
        provenance, data_root=osp.abspath(data_root), patches=len(hardness),
        mean=float(values.mean()) if len(values) else None,
        zero=int((values == 0).sum())))
    with atomic_open(path) as f:
        json.dump(record, f, indent=1, sort_keys=True)
    return record
