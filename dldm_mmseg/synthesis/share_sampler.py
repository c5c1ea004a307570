"""What each synthetic sample should contain: its target class shares."""
import json
import numbers
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np

from dldm_mmseg.datasets.captioning import load_captions
from dldm_mmseg.utils.prompts import round_percents, shares_to_array


class TargetShareSampler:
    """Target class shares (and a caption) for synthetic sample ``i``.

    ``mode='real'`` draws the shares of a real patch (with its caption), so
    synthetic data follows the real layout statistics; rare classes are
    enriched by

    * ``rarity_exponent`` a: a patch is drawn with probability proportional
      to ``max f_c^(-a)`` over the classes it holds (share >= ``presence``),
      where ``f_c`` is the class's share of all valid real pixels (patch
      shares weighted by ``pixel_counts``), as in
      repeat-factor sampling: a = 0 gives the real distribution, a = 1
      weights each patch by the inverse frequency of its rarest class (the
      paper's Fig. 13 enrichment of car and clutter);
    * ``min_shares``: a class named there gets at least that share (taken
      from the other classes in proportion to their shares, repeated until
      no class is left below its minimum).

    ``weak_classes`` replaces pixel frequency by a segmentor's weakness as
    what is boosted: ``f_c`` becomes ``1 - IoU_c / 100`` (+ 0.01) with the
    per-class IoU of a real-only segmentor (``IoU.<class>`` of a run's
    ``val_metrics.json``, e.g. ``tools/sweep.py``'s alpha_0: ranked on
    val, never on the split the segmentors are scored on), so the
    classes it gets wrong are drawn more, whether rare or not; with
    ``rarity_exponent`` a, a patch weighs ``max (1 - IoU_c + 0.01)^a``.

    ``patch_hardness`` weighs the patches themselves: a patch's draw
    weight is multiplied by ``hardness ** hardness_exponent``, with its
    hardness read from a ``tools/patch_hardness.py`` file (a real-only
    segmentor's mean cross-entropy on the patch; best measured on patches
    it did not train on) or given as a dict, keyed by ``patch_ids``. So
    the masks and scenes a segmentor gets wrong are drawn more, whichever
    classes they hold. A patch of hardness 0 is never drawn.

    ``absent_share`` sets the share of the draws taken from the real
    patches that hold none of ``absent_classes`` (share below
    ``presence``), each keeping its weight within its group. A boost
    toward a rare class makes patches without it scarce in the set; this
    keeps them at the share asked for (e.g. building-free scenes whose
    pavement, soil or roofs-like background a segmentor must learn not
    to call building).

    ``mode='fixed'`` gives every sample ``fixed_shares``.

    ``user_shares`` (class -> share, e.g. from ``tools/synthesize.py
    --shares "car=5,clutter=8"``) fixes those classes' shares in every
    sample; the other classes keep the drawn shares, rescaled to fill the
    rest (in proportion to their real frequency where the drawn patch has
    none of them). Applied after ``min_shares``.

    Draws depend on ``(seed, i)`` only, so sample ``i`` is the same
    whatever the batch or process that makes it.

    Args:
        class_names (Sequence[str]): Dataset classes.
        real_shares (np.ndarray, optional): ``N x C`` shares of the real
            patches (mode ``'real'``).
        captions (Sequence[str], optional): Captions of those patches.
        pixel_counts (Sequence[int], optional): Valid pixels of each patch
            (``pixels`` of its captions record), to weight the shares in
            ``f_c``. Defaults to equal weights (the same when every patch
            has as many valid pixels).
        mode (str): ``'real'`` or ``'fixed'``. Defaults to ``'real'``.
        rarity_exponent (float): See above. Defaults to 0.
        min_shares (dict, optional): Class name -> minimum share.
        fixed_shares: Shares for mode ``'fixed'`` (sequence or dict).
        presence (float): Share from which a patch counts as holding a
            class. Defaults to 0.005.
        user_shares (dict, optional): Class name -> share fixed in every
            sample (see above; shares sum to at most 1).
        weak_classes (str | dict, optional): A metrics JSON file with
            ``IoU.<class>`` (percent), or such a dict; see above.
        patch_hardness (str | dict, optional): Patch id -> hardness (>= 0),
            or a JSON file of them (``tools/patch_hardness.py``'s, whose
            ``hardness`` holds them); see above.
        hardness_exponent (float): See above. Defaults to 1.
        absent_classes (Sequence[str], optional): The classes whose
            absence ``absent_share`` counts.
        absent_share (float, optional): Share of the draws (0 to 1) from
            the patches holding none of ``absent_classes``. Defaults to
            None: drawn by weight alone.
        patch_ids (Sequence[str], optional): The ids of the real patches,
            in the order of ``real_shares`` (``patch_hardness`` is keyed
            by them; :meth:`from_captions` passes them).
        seed (int): Base seed. Defaults to 0.
    """

    def __init__(self,
                 class_names: Sequence[str],
                 real_shares: Optional[np.ndarray] = None,
                 captions: Optional[Sequence[str]] = None,
                 mode: str = 'real',
                 pixel_counts: Optional[Sequence[int]] = None,
                 rarity_exponent: float = 0.0,
                 min_shares: Optional[Dict[str, float]] = None,
                 fixed_shares=None,
                 presence: float = 0.005,
                 user_shares: Optional[Dict[str, float]] = None,
                 weak_classes=None,
                 patch_hardness=None,
                 hardness_exponent: float = 1.0,
                 absent_classes: Optional[Sequence[str]] = None,
                 absent_share: Optional[float] = None,
                 patch_ids: Optional[Sequence[str]] = None,
                 seed: int = 0) -> None:
        self.class_names = tuple(class_names)
        self.user_shares = dict(user_shares or {})
        self.user = shares_to_array(self.user_shares, self.class_names)
        self.user_fixed = shares_to_array(
            {k: 1.0 for k in self.user_shares}, self.class_names) > 0
        if (self.user < 0).any() or self.user.sum() > 1 + 1e-9:
            raise ValueError(f'user_shares {self.user_shares} must be >= 0 '
                             f'and sum to at most 1, got '
                             f'{self.user.sum():.3f}')
        if self.user_fixed.all() and abs(self.user.sum() - 1) > 1e-6:
            raise ValueError(f'user_shares {self.user_shares} name every '
                             'class; they must then sum to 1')
        self.mode = mode
        self.seed = seed
        #: the captions records of the patches, in the order of
        #: ``__call__``'s ``patch`` (set by :meth:`from_captions`)
        self.patches = None
        self.min_shares = shares_to_array(min_shares or {}, self.class_names)
        if self.min_shares.sum() >= 1:
            raise ValueError(f'min_shares {min_shares} sum to '
                             f'{self.min_shares.sum():.2f}; they must leave '
                             'room for the other classes (sum < 1)')
        absent_ids = self._check_absent(absent_classes, absent_share) \
            if absent_classes is not None or absent_share is not None \
            else None
        if mode == 'fixed':
            if absent_share is not None:
                raise ValueError(
                    "synthesis.shares.absent_share sets the share of real "
                    "patches drawn, and mode='fixed' draws none: drop "
                    "absent_share or set shares.mode='real'")
            if patch_hardness is not None:
                raise ValueError(
                    "synthesis.shares.patch_hardness weighs the real patches "
                    "of mode='real' and mode='fixed' draws none: drop "
                    "patch_hardness or set shares.mode='real'")
            if fixed_shares is None:
                raise ValueError('mode="fixed" needs fixed_shares')
            fixed = shares_to_array(fixed_shares, self.class_names)
            if fixed.sum() <= 0:
                raise ValueError(f'fixed_shares {fixed_shares} sum to 0')
            self.fixed = fixed / fixed.sum()
            self.frequency = self.fixed
        elif mode == 'real':
            if real_shares is None or len(real_shares) == 0:
                raise ValueError('mode="real" needs the real patches\' shares'
                                 ' (from captions.jsonl)')
            shares = np.asarray(real_shares, dtype=np.float64)
            self.real_shares = shares / shares.sum(1, keepdims=True)
            self.captions = list(captions) if captions is not None else \
                [''] * len(shares)
            counts = np.ones(len(shares)) if pixel_counts is None else \
                np.asarray(pixel_counts, dtype=np.float64)
            if counts.shape != (len(shares),) or (counts < 0).any() or \
                    counts.sum() <= 0:
                raise ValueError(f'pixel_counts must hold one non-negative '
                                 f'count per patch ({len(shares)}), got '
                                 f'shape {counts.shape}')
            frequency = (self.real_shares * counts[:, None]).sum(0) / \
                counts.sum()
            if weak_classes is not None:
                self.weakness = class_weakness(weak_classes, self.class_names)
                boost = self.weakness ** float(rarity_exponent)
            else:
                boost = np.where(frequency > 0, frequency, 1.0) ** (
                    -float(rarity_exponent))
            present = self.real_shares >= presence
            # repeat-factor style: a patch counts as much as the rarest
            # class it holds
            weights = np.where(present, boost[None], 0).max(1)
            weights = np.where(weights > 0, weights, boost.min())
            if patch_hardness is not None:
                exponent = float(hardness_exponent)
                if not np.isfinite(exponent) or exponent <= 0:
                    raise ValueError(
                        'synthesis.shares.hardness_exponent must be a '
                        f'finite number > 0, got {hardness_exponent!r} '
                        '(leave patch_hardness out to draw without it)')
                weights = weights * patch_weights(
                    patch_hardness, patch_ids, len(shares)) ** exponent
                if not weights.sum() > 0:
                    raise ValueError(
                        f'patch_hardness {_name(patch_hardness)} gives '
                        'every patch hardness 0: nothing can be drawn')
            self.frequency = frequency
            self.patch_probs = weights / weights.sum()
            if absent_share is not None:
                self.patch_probs = self._with_absent_share(
                    weights, present, absent_ids, absent_share)
        else:
            raise ValueError(f'mode must be real or fixed, got {mode!r}')

    def _check_absent(self, classes, share) -> list:
        """The indices of ``absent_classes``, refusing ``absent_classes`` /
        ``absent_share`` that cannot do what they say: one without the
        other, names not of the set, a share outside 0 to 1, or a class
        ``min_shares`` or ``user_shares`` put in every sample."""
        where = 'synthesis.shares'
        if share is None:
            raise ValueError(
                f'{where}.absent_classes={classes!r} does nothing without '
                f'{where}.absent_share: set absent_share (0 to 1) or drop '
                'absent_classes')
        if isinstance(classes, str) or not classes:
            raise ValueError(
                f'{where}.absent_share needs absent_classes, a non-empty '
                f'list of class names (of {list(self.class_names)}), got '
                f'{classes!r}')
        unknown = [c for c in classes if c not in self.class_names]
        if unknown:
            raise ValueError(f'{where}.absent_classes {unknown} are not '
                             f'classes of the set {list(self.class_names)}')
        if isinstance(share, bool) or not isinstance(share, numbers.Real) \
                or not 0 <= share <= 1:
            raise ValueError(f'{where}.absent_share must be a number from 0 '
                             f'to 1, got {share!r}')
        ids = [self.class_names.index(c) for c in classes]
        for name, values in (('min_shares', self.min_shares),
                             ('user_shares', self.user)):
            forced = [self.class_names[i] for i in ids if values[i] > 0]
            if forced:
                raise ValueError(
                    f'{where}.{name} puts {forced} in every sample, so no '
                    f'sample is free of absent_classes {list(classes)}: '
                    f'drop them from {name} or from absent_classes')
        return ids

    def _with_absent_share(self, weights: np.ndarray, present: np.ndarray,
                           ids: list, share) -> np.ndarray:
        """Draw probabilities giving the patches that hold none of the
        classes ``ids`` the total ``share``, each group in proportion to
        ``weights``."""
        absent = ~present[:, ids].any(1)
        classes = [self.class_names[i] for i in ids]
        groups = ((absent, float(share), 'hold none of'),
                  (~absent, 1.0 - float(share), 'hold any of'))
        probs = np.zeros(len(weights))
        for members, total, says in groups:
            mass = weights[members].sum()
            if total > 0 and not mass > 0:
                raise ValueError(
                    f'synthesis.shares.absent_share={share} draws '
                    f'{100 * total:.0f}% of the samples from real patches '
                    f'that {says} {classes}, and none can be drawn '
                    '(none exists, or patch_hardness gives each 0): change '
                    'absent_share or absent_classes')
            if total > 0:
                probs[members] = weights[members] / mass * total
        return probs

    @classmethod
    def from_captions(cls, class_names: Sequence[str], captions_file: str,
                      **kwargs) -> 'TargetShareSampler':
        """A ``mode='real'`` sampler over the patches of a captions file
        (``tools/caption.py``): their shares, captions and, where every
        record has them, pixel counts (the weights of ``rarity_exponent``),
        in patch id order.

        Args:
            class_names: The dataset's classes, in order.
            captions_file (str): ``captions.jsonl`` of the real set.
            **kwargs: The other arguments of :class:`TargetShareSampler`.
        """
        records = load_captions(captions_file, class_names)
        ordered = [records[k] for k in sorted(records)]
        pixels = [r.get('pixels') for r in ordered]
        if all(n is not None for n in pixels):
            kwargs.setdefault('pixel_counts', pixels)
        sampler = cls(class_names,
                      np.stack([r['shares_array'] for r in ordered]),
                      [r.get('caption') or '' for r in ordered],
                      **dict(kwargs, mode='real',
                             patch_ids=[r['id'] for r in ordered]))
        sampler.patches = ordered
        return sampler

    def _enforce_minimums(self, shares: np.ndarray) -> np.ndarray:
        """Raise classes below their minimum to it, taking the room from
        the others in proportion; repeat while that pushes another class
        below its own minimum (at most one pass per class)."""
        out = np.asarray(shares, dtype=np.float64).copy()
        fixed = np.zeros(len(out), dtype=bool)
        for _ in range(len(out)):
            low = ~fixed & (out < self.min_shares - 1e-12)
            if not low.any():
                break
            fixed |= low
            out[fixed] = self.min_shares[fixed]
            rest = ~fixed
            room = 1.0 - out[fixed].sum()
            if out[rest].sum() > 0:
                out[rest] = out[rest] / out[rest].sum() * room
            elif rest.any():
                out[rest] = room / rest.sum()
        return out

    def __call__(self, index: int) -> dict:
        """``shares`` (float array summing to 1, whole percents),
        ``caption`` (the drawn patch's, or '') and ``patch`` (the drawn
        patch's index, None in mode ``'fixed'``) of sample ``index``."""
        caption, patch = '', None
        if self.mode == 'fixed':
            shares = self.fixed
        else:
            rng = np.random.default_rng([self.seed, int(index)])
            patch = int(rng.choice(len(self.real_shares),
                                   p=self.patch_probs))
            shares, caption = self.real_shares[patch], self.captions[patch]
        shares = self._apply_user_shares(self._enforce_minimums(shares))
        return dict(shares=round_percents(shares) / 100.0, caption=caption,
                    patch=patch)

    def _apply_user_shares(self, shares: np.ndarray) -> np.ndarray:
        if not self.user_fixed.any():
            return shares
        out = np.where(self.user_fixed, self.user, 0.0)
        free = ~self.user_fixed
        room = 1.0 - out.sum()
        rest = np.asarray(shares, dtype=np.float64)[free]
        if rest.sum() <= 0:  # the drawn patch has none of the free classes
            rest = self.frequency[free]
        if rest.sum() > 0:
            out[free] = rest / rest.sum() * room
        elif free.any():
            out[free] = room / free.sum()
        return out


def class_weakness(metrics, class_names: Sequence[str]) -> np.ndarray:
    """``1 - IoU_c / 100 + 0.01`` per class from a segmentor's test metrics
    (a ``metrics.json`` path or a dict with ``IoU.<class>`` in percent).

    Raises:
        ValueError: Naming the file and the classes it lacks.
    """
    source = metrics
    if isinstance(metrics, str):
        with open(metrics, encoding='utf-8') as f:
            metrics = json.load(f)
    missing = [c for c in class_names if f'IoU.{c}' not in metrics]
    if missing:
        name = source if isinstance(source, str) else 'the metrics'
        raise ValueError(f'{name} has no IoU.<class> for {missing}; give the '
                         'metrics.json of a test run of a segmentor on '
                         'this dataset (tools/test.py or tools/sweep.py)')
    iou = np.array([float(metrics[f'IoU.{c}']) for c in class_names])
    iou = np.nan_to_num(iou, nan=0.0)  # never predicted: weakest
    return 1.0 - np.clip(iou, 0, 100) / 100.0 + 0.01


def _name(source) -> str:
    return source if isinstance(source, str) else 'the dict given'


def read_hardness(path: str) -> Dict[str, float]:
    """The patch id -> hardness of a ``tools/patch_hardness.py`` file (its
    ``hardness``), or of a flat JSON object of them.

    Raises:
        FileNotFoundError: When ``path`` does not exist.
        ValueError: When it holds no such object.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'patch_hardness file {path} does not exist; write it with '
            'tools/patch_hardness.py')
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    data = data.get('hardness', data) if isinstance(data, dict) else data
    if not isinstance(data, dict):
        raise ValueError(
            f'patch_hardness file {path} holds {type(data).__name__}, not '
            'patch id -> hardness; write it with tools/patch_hardness.py')
    return data


def patch_weights(hardness, patch_ids: Optional[Sequence[str]],
                  num: int) -> np.ndarray:
    """The hardness of each patch, in the order of ``patch_ids``.

    Args:
        hardness (str | dict): Patch id -> hardness, or a file of them
            (:func:`read_hardness`).
        patch_ids (Sequence[str]): The patches' ids.
        num (int): How many patches there are.

    Returns:
        np.ndarray: ``num`` hardness values.

    Raises:
        ValueError: Naming the file and the fix when ids are not given,
            a patch has no hardness, or a value is negative or not a
            finite number.
    """
    source = _name(hardness)
    if isinstance(hardness, str):
        hardness = read_hardness(hardness)
    if patch_ids is None or len(patch_ids) != num:
        raise ValueError(
            f'patch_hardness ({source}) is keyed by patch id: give the ids '
            f'of the {num} real patches (patch_ids, as '
            'TargetShareSampler.from_captions does)')
    missing = [i for i in patch_ids if i not in hardness]
    if missing:
        raise ValueError(
            f'patch_hardness {source} has no value for {len(missing)} of '
            f'the {num} real patches (e.g. {missing[:3]}): measure it on '
            'the captions the shares are drawn from (tools/patch_hardness.py'
            ' --real <that data root>)')
    values = []
    for i in patch_ids:
        try:
            value = float(hardness[i])
        except (TypeError, ValueError):
            value = float('nan')
        if not np.isfinite(value) or value < 0:
            raise ValueError(
                f'patch_hardness {source}: patch {i!r} has hardness '
                f'{hardness[i]!r}; each must be a finite number >= 0')
        values.append(value)
    return np.array(values)
