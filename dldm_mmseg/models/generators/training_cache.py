"""Frozen-encoder outputs computed once per training view instead of every
step: the VAE's latent distribution of each augmented patch and the text
encoder's hidden states of each prompt (diffusers' SDXL training scripts
precompute both for the same reason)."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch


class EncodingCache:
    """Per-key tensors of a frozen encoder, kept on the CPU.

    A key names an input exactly (a prompt, or a patch with its crop, flips
    and rotation), so a hit returns what the encoder would compute for it.
    Missing keys of a batch are encoded together in one call.

    Args:
        max_items (int, optional): Keep at most this many keys; later ones
            are encoded every time they come. Defaults to None (no bound).
    """

    def __init__(self, max_items: Optional[int] = None) -> None:
        if max_items is not None and max_items < 0:
            raise ValueError(f'cache_max_items must be >= 0 or None, got '
                             f'{max_items}')
        self.max_items = max_items
        self._items: Dict[str, Tuple[torch.Tensor, ...]] = {}
        self.hits = 0
        self.lookups = 0
        self.last_hit_rate = 0.0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes held by the cached tensors."""
        return sum(t.numel() * t.element_size()
                   for item in self._items.values() for t in item)

    def lookup(self, keys: Sequence[str],
               compute: Callable[[List[int]], Tuple[torch.Tensor, ...]],
               device: torch.device) -> Tuple[torch.Tensor, ...]:
        """Stacked values for ``keys`` on ``device``.

        Args:
            keys (Sequence[str]): One key per batch element.
            compute (callable): Maps the batch indices of the missing keys
                to a tuple of tensors, each with one row per index.
            device (torch.device): Where the returned tensors go.

        Returns:
            tuple[Tensor]: One tensor per output of ``compute``, one row per
            key.
        """
        rows: List[Optional[Tuple[torch.Tensor, ...]]] = [
            self._items.get(k) for k in keys]
        missing = [i for i, row in enumerate(rows) if row is None]
        self.lookups += len(keys)
        self.hits += len(keys) - len(missing)
        self.last_hit_rate = 1 - len(missing) / max(len(keys), 1)
        if missing:
            computed = compute(missing)
            for j, i in enumerate(missing):
                row = tuple(t[j].detach() for t in computed)
                rows[i] = row
                if keys[i] not in self._items and (
                        self.max_items is None
                        or len(self._items) < self.max_items):
                    self._items[keys[i]] = tuple(t.to('cpu', copy=True)
                                                 for t in row)
        return tuple(torch.stack([row[n].to(device) for row in rows])
                     for n in range(len(rows[0])))

    def hit_rate(self) -> float:
        """Share of all lookups so far answered from the cache."""
        return self.hits / self.lookups if self.lookups else 0.0
