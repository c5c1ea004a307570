"""How a scene's grid is dealt to train, val and test: equal blocks, each
to one split (stratified by class on request), and with a held-out cell
size the val and test blocks cut again into cells dealt between the two.
:mod:`.raster_preparation` cuts its tiles inside the regions found here."""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np


def block_edges(length: int, block: int) -> np.ndarray:
    """Edges of ``length // block`` (at least 1) equal blocks covering
    ``0..length``."""
    count = max(1, length // block)
    return np.round(np.linspace(0, length, count + 1)).astype(int)


def assign_blocks(weights: np.ndarray, fractions: Sequence[float],
                  seed: Union[int, Sequence[int]],
                  class_counts: Optional[np.ndarray] = None) -> np.ndarray:
    """Split index of each block.

    Blocks are taken in a seeded order. Without ``class_counts`` each goes
    to the split furthest below its fraction of the labelled pixels so far.
    With ``class_counts`` (the blocks' grid plus a class axis) the split is
    stratified: blocks holding most of some class go first, each to the
    split where it lowers most the squared distance of every split's share
    of every class's pixels from the split's fraction, so a rare class
    found in a few blocks is dealt to val and test too. The seed then only
    orders blocks that hold the same share of every class; blocks with no
    labelled pixel go to the first split with a fraction (they yield no
    tile).
    """
    fractions = np.asarray(fractions, float) / np.sum(fractions)
    rng = np.random.default_rng(seed)
    flat = weights.ravel()
    order = rng.permutation(flat.size)
    order = order[np.argsort(flat[order] <= 0, kind='stable')]
    splits = np.zeros(flat.size, int)
    # with nothing labelled there is nothing to stratify: deal as below
    if class_counts is not None and np.any(class_counts):
        counts = class_counts.reshape(flat.size, -1).astype(np.float64)
        totals = counts.sum(0)
        parts = counts[:, totals > 0] / totals[totals > 0]
        order = order[np.argsort(-parts[order].max(1), kind='stable')]
        taken = np.zeros((len(fractions), parts.shape[1]))
        for index in order:
            gain = (parts[index] * (fractions[:, None] - taken)).sum(1)
            splits[index] = int(np.argmax(np.where(fractions > 0, gain,
                                                   -np.inf)))
            taken[splits[index]] += parts[index]
        return splits.reshape(weights.shape)
    taken = np.zeros(len(fractions))
    for index in order:
        total = taken.sum() + max(flat[index], 1)
        deficit = np.where(fractions > 0, fractions * total - taken, -np.inf)
        splits[index] = int(np.argmax(deficit))
        taken[splits[index]] += max(flat[index], 1)
    return splits.reshape(weights.shape)


def grid_counts(ids: np.ndarray, rows: Sequence[int], cols: Sequence[int],
                num_classes: int) -> np.ndarray:
    """Labelled pixels of each class (1..``num_classes``) in each cell of
    the grid whose edges are ``rows`` and ``cols``: ``(rows - 1, cols - 1,
    num_classes)``."""
    return np.array([[np.bincount(
        ids[rows[i]:rows[i + 1], cols[j]:cols[j + 1]].ravel(),
        minlength=num_classes + 1)[1:] for j in range(len(cols) - 1)]
        for i in range(len(rows) - 1)])


def _cell_edges(start: int, stop: int, cell: int, tile: int) -> List[int]:
    """Edges of cells of ``cell`` pixels from ``start`` to ``stop``; a last
    cell too narrow for a tile joins the one before (the cells cut the
    block's tile grid, never a tile)."""
    edges = list(range(start, stop, cell)) + [stop]
    if len(edges) > 2 and edges[-1] - edges[-2] < tile:
        del edges[-2]
    return edges


def regions(ids, splits, rows, cols, settings,
            num_classes: int) -> List[Tuple[int, int, int, int, int]]:
    """``(y0, y1, x0, x1, split)`` of each block, or with
    ``settings.holdout_block`` of each cell of the val and test blocks
    (``settings``: a :class:`~.raster_preparation.RasterSettings`).

    A held-out block's cells (``holdout_block`` rounded down to whole
    tiles, weighed by their labelled pixels) are dealt between val and
    test by :func:`assign_blocks` at the two splits' fractions, stratified
    by class with ``stratify``; which of the two a tie favours is drawn
    per block from the seed, so neither split takes every block's odd
    cell.
    """
    found = []
    held_out = settings.holdout_block
    cell = None if held_out is None else \
        max(1, held_out // settings.tile) * settings.tile
    fractions = np.asarray(settings.split, float)
    for i in range(len(rows) - 1):
        for j in range(len(cols) - 1):
            split = int(splits[i, j])
            if cell is None or split == 0:
                found.append((rows[i], rows[i + 1], cols[j], cols[j + 1],
                              split))
                continue
            ys = _cell_edges(rows[i], rows[i + 1], cell, settings.tile)
            xs = _cell_edges(cols[j], cols[j + 1], cell, settings.tile)
            counts = grid_counts(ids, ys, xs, num_classes)
            rng = np.random.default_rng([settings.seed, i, j, 1])
            order = [1, 2] if rng.random() < 0.5 else [2, 1]
            dealt = assign_blocks(
                counts.sum(-1), fractions[order], [settings.seed, i, j],
                counts if settings.stratify else None)
            for a in range(len(ys) - 1):
                for b in range(len(xs) - 1):
                    found.append((ys[a], ys[a + 1], xs[b], xs[b + 1],
                                  order[dealt[a, b]]))
    return found
