"""A label budget: a prepared dataset whose train split keeps ``num`` of its
labelled tiles, val and test unchanged.

It answers "does synthetic data help a team that labelled only this
much?": every generator and segmentor trained on the budget folder sees
the kept tiles' labels and no others, while val and test, where settings
are chosen and numbers quoted, stay those of the full dataset. The tiles
are drawn uniformly at random (``seed``) from the whole train split. The
folder's ``summary.json`` is the source's with
the train split's tiles and class shares counted again and a
``label_budget`` record (source, seed, the kept tiles), so a rerun with the
same request keeps the folder and another request is refused.
"""
import json
import os
import os.path as osp
import shutil
from typing import List, Optional

import numpy as np

from dldm_mmseg.utils.io import (atomic_directory, atomic_write_jsonl,
                                 read_jsonl)
from dldm_mmseg.utils.label_stats import (class_counts, read_label_map,
                                          to_train_ids)
from .raster_preparation import SPLITS

CAPTION_FILES = ('captions.jsonl', 'captions_val.jsonl',
                 'captions_test.jsonl')


def _train_tiles(src: str) -> List[str]:
    folder = osp.join(src, 'ann_dir', 'train')
    if not osp.isfile(osp.join(src, 'summary.json')) or \
            not osp.isdir(folder):
        raise FileNotFoundError(
            f'{src} is not a prepared dataset (it needs summary.json and '
            'ann_dir/train, as tools/prepare_raster.py and '
            'tools/get_benchmark.py write them); prepare it first')
    return sorted(osp.splitext(n)[0] for n in os.listdir(folder)
                  if n.endswith('.png'))


def _link_or_copy(src: str, dst: str) -> None:
    os.makedirs(osp.dirname(dst), exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:  # another file system, or no hard links there
        shutil.copy2(src, dst)


def _split_counts(ann_dir: str, names, num_classes: int) -> np.ndarray:
    """Pixels per class over the label maps ``names`` of ``ann_dir``
    (stored as prepared: 0 = ignore, 1..num_classes)."""
    counts = np.zeros(num_classes, np.int64)
    for name in names:
        path = osp.join(ann_dir, name + '.png')
        counts += class_counts(to_train_ids(read_label_map(path), True),
                               num_classes, path=path,
                               reduce_zero_label=True)
    return counts


def _record(src: str, num: int, seed: int, kept: List[str],
            available: int) -> dict:
    return dict(source=osp.abspath(src), source_train_tiles=available,
                train_tiles=num, seed=seed, kept=kept)


def make_label_budget(src: str, out: str, num: Optional[int] = None,
                      fraction: Optional[float] = None, seed: int = 0,
                      force: bool = False) -> dict:
    """Write ``out``: ``src`` with ``num`` (or ``fraction`` of its) train
    tiles drawn at random, val and test whole.

    Args:
        src (str): A prepared dataset (``tools/prepare_raster.py``,
            ``tools/get_benchmark.py``): ``img_dir``, ``ann_dir``,
            ``summary.json``, optionally ``captions*.jsonl``.
        out (str): The budget folder, written through a temporary folder
            beside it.
        num (int, optional): Train tiles to keep.
        fraction (float, optional): Or the share of them to keep (rounded,
            at least one).
        seed (int): Which tiles.
        force (bool): Replace an ``out`` made with another request.

    Returns:
        dict: The new summary (also ``out/summary.json``).

    Raises:
        ValueError: Neither or both of ``num`` and ``fraction``, a count
            outside 1..the train tiles of ``src``, ``out`` inside ``src``
            (or the other way round), or a train label beyond the classes
            of ``src``'s ``summary.json``.
        FileNotFoundError: ``src`` is not a prepared dataset.
        FileExistsError: ``out`` holds something else and not ``force``.
    """
    names = _train_tiles(src)
    inside = [osp.realpath(a) + os.sep for a in (src, out)]
    if inside[0].startswith(inside[1]) or inside[1].startswith(inside[0]):
        raise ValueError(f'--out {out} and the dataset {src} overlap; the '
                         'budget would replace tiles of its own source: '
                         'choose an --out outside it')
    if (num is None) == (fraction is None):
        raise ValueError('give the budget as a number of train tiles or as a '
                         f'fraction of the {len(names)} of {src}, not '
                         f'{"both" if num is not None else "neither"}')
    if fraction is not None:
        if not 0 < fraction <= 1:
            raise ValueError(f'fraction {fraction} is outside (0, 1]; give '
                             'the share of the train tiles to keep')
        num = max(1, int(round(fraction * len(names))))
    if not 1 <= num <= len(names):
        raise ValueError(f'cannot keep {num} train tiles: {src} has '
                         f'{len(names)}; give 1 to {len(names)}')
    rng = np.random.default_rng(seed)
    kept = sorted(names[i] for i in
                  rng.choice(len(names), size=num, replace=False))
    record = _record(src, num, seed, kept, len(names))
    summary_file = osp.join(out, 'summary.json')
    if osp.exists(out) and not force:
        old = None
        if osp.isfile(summary_file):
            with open(summary_file, encoding='utf-8') as f:
                old = json.load(f)
        held = (old or {}).get('label_budget')
        if held == record:
            print(f'{out} already holds this label budget; kept')
            return old
        if held is None:
            holds = 'no summary.json' if old is None else \
                'a dataset that is no budget'
        else:
            differ = [f'{key} {held.get(key)!r} here, {record[key]!r} asked'
                      for key in ('source', 'source_train_tiles',
                                  'train_tiles', 'seed')
                      if held.get(key) != record[key]]
            holds = 'another label budget (' + (
                ', '.join(differ) or 'other kept tiles: the source\'s '
                'train tiles changed') + ')'
        raise FileExistsError(f'{out} exists and holds {holds}; choose '
                              'another --out, or --force to replace it')
    with open(osp.join(src, 'summary.json'), encoding='utf-8') as f:
        summary = json.load(f)
    num_classes = len(summary['classes'])
    with atomic_directory(out) as tmp:
        for sub in ('img_dir', 'ann_dir'):
            for split in SPLITS:
                folder = osp.join(src, sub, split)
                if split != 'train' and not osp.isdir(folder):
                    continue  # a split of weight 0 (--split 80,20,0)
                files = [n + '.png' for n in kept] if split == 'train' \
                    else sorted(os.listdir(folder))
                for name in files:
                    _link_or_copy(osp.join(folder, name),
                                  osp.join(tmp, sub, split, name))
        for name in sorted(os.listdir(src)):
            path = osp.join(src, name)
            if osp.isfile(path) and name not in CAPTION_FILES + \
                    ('summary.json', ):
                _link_or_copy(path, osp.join(tmp, name))
        keep = set(kept)
        for name in CAPTION_FILES:
            path = osp.join(src, name)
            if not osp.isfile(path):
                continue
            records = read_jsonl(path)
            if name == CAPTION_FILES[0]:
                records = [r for r in records if osp.splitext(osp.basename(
                    r['seg_map_path']))[0] in keep]
            atomic_write_jsonl(osp.join(tmp, name), records)
        counts = _split_counts(osp.join(tmp, 'ann_dir', 'train'), kept,
                               num_classes)
        labelled = int(counts.sum())
        summary['splits']['train'] = dict(
            tiles=num, labelled_pixels=labelled,
            shares=dict(zip(summary['classes'],
                            (counts / max(labelled, 1)).round(6).tolist())))
        summary['label_budget'] = record
        with open(osp.join(tmp, 'summary.json'), 'w', encoding='utf-8') as f:
            json.dump(summary, f, indent=1)
    return summary
