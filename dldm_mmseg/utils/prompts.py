"""The class-share text used in prompts and captions: one format, one parser.

``impervious surface: 30%, building: 25%, tree: 45%``

Shares are integer percents that sum to 100 (largest-remainder rounding),
listed in the dataset's class order. Class names are written with spaces
instead of underscores (``low_vegetation`` -> ``low vegetation``), which is
how CLIP tokenises them best. Classes at 0% are left out by default, so
prompts stay within CLIP's 77 tokens; the parser reads them back as 0.
"""
import re
from typing import Dict, Mapping, Optional, Sequence, Union

import numpy as np

_ITEM = re.compile(r'^\s*(?P<name>[^:,]+?)\s*:\s*'
                   r'(?P<value>\d+(?:\.\d+)?)\s*%\s*$')

_SPEC_ITEM = re.compile(r'^\s*(?P<name>[^=:]+?)\s*[=:]\s*'
                        r'(?P<value>-?\d+(?:\.\d+)?)\s*%?\s*$')

Shares = Union[Mapping[str, float], Sequence[float], np.ndarray]


def _share_items(text: str, class_names: Sequence[str], pattern, verb: str,
                 hint: str, example: str):
    """``(class index, value)`` of each comma-separated ``name<sep>value``
    item of ``text`` (what share text and share specifications have in
    common); raises naming an empty text, an unreadable item, an unknown
    or a repeated class."""
    index = {class_display_name(c): i for i, c in enumerate(class_names)}
    items = [item for item in text.split(',') if item.strip()]
    if not items:
        raise ValueError(f'empty class-share text {text!r}; expected e.g. '
                         f'{example}')
    seen = set()
    for item in items:
        match = pattern.match(item)
        if match is None:
            raise ValueError(f'cannot {verb} {item.strip()!r} in {text!r}; '
                             f'{hint}')
        name = class_display_name(match['name'])
        if name not in index:
            raise ValueError(f'unknown class {match["name"].strip()!r} in '
                             f'{text!r}; known classes are '
                             f'{list(class_names)}')
        if name in seen:
            raise ValueError(f'class {class_names[index[name]]!r} is given '
                             f'twice in {text!r}')
        seen.add(name)
        yield index[name], float(match['value'])


def class_display_name(name: str) -> str:
    """``low_vegetation`` -> ``low vegetation`` (lower case, single spaces)."""
    return ' '.join(name.replace('_', ' ').split()).lower()


def shares_to_array(shares: Shares, class_names: Sequence[str]) -> np.ndarray:
    """Turn a mapping (class name -> share) or a sequence into an array.

    Mapping keys may use the raw (``low_vegetation``) or display
    (``low vegetation``) name.
    """
    if isinstance(shares, Mapping):
        lookup = {class_display_name(k): float(v) for k, v in shares.items()}
        unknown = set(lookup) - {class_display_name(c) for c in class_names}
        if unknown:
            raise ValueError(f'unknown class names {sorted(unknown)}; '
                             f'known classes are {list(class_names)}')
        values = [lookup.get(class_display_name(c), 0.0) for c in class_names]
        return np.asarray(values, dtype=np.float64)
    values = np.asarray(shares, dtype=np.float64).reshape(-1)
    if values.size != len(class_names):
        raise ValueError(f'got {values.size} shares for {len(class_names)} '
                         f'classes {list(class_names)}')
    return values


def round_percents(shares: Sequence[float]) -> np.ndarray:
    """Integer percents summing to 100 by largest-remainder rounding.

    Args:
        shares (Sequence[float]): Non-negative shares (any scale); they are
            normalised to sum to 1 first.

    Returns:
        np.ndarray: int64 percents with sum 100.
    """
    shares = np.asarray(shares, dtype=np.float64)
    if (shares.ndim != 1 or np.any(shares < 0)
            or not np.all(np.isfinite(shares))):
        raise ValueError('shares must be finite and non-negative, '
                         f'got {shares}')
    total = shares.sum()
    if total <= 0:
        raise ValueError('shares sum to 0: there is no labelled pixel to '
                         'describe')
    exact = shares / total * 100.0
    floors = np.floor(exact).astype(np.int64)
    missing = 100 - int(floors.sum())
    # Largest remainders first; ties go to the earlier class (stable sort).
    order = np.argsort(-(exact - floors), kind='stable')
    floors[order[:missing]] += 1
    return floors


def format_class_shares(shares: Shares, class_names: Sequence[str],
                        keep_zero: bool = False) -> str:
    """Format class shares as ``name: P%`` items in class order.

    Args:
        shares: Fractions or counts per class, as a sequence in class order
            or a mapping from class name.
        class_names (Sequence[str]): The dataset's classes (metainfo order).
        keep_zero (bool): Also list classes at 0%. Defaults to False.

    Returns:
        str: e.g. ``'impervious surface: 30%, building: 70%'``.
    """
    percents = round_percents(shares_to_array(shares, class_names))
    return ', '.join(f'{class_display_name(name)}: {p}%'
                     for name, p in zip(class_names, percents)
                     if p > 0 or keep_zero)


def parse_class_shares(text: str, class_names: Sequence[str],
                       require_total: bool = True,
                       tolerance: float = 2.0) -> np.ndarray:
    """Parse share text back into fractions in class order.

    Args:
        text (str): ``'building: 30%, car: 5%, ...'``; classes not named
            are 0. Extra words before the first item are not allowed: pass
            only the share part of a prompt.
        class_names (Sequence[str]): The dataset's classes.
        require_total (bool): Require the percents to sum to 100 within
            ``tolerance``. Set False for partial user prompts.
            Defaults to True.
        tolerance (float): Allowed deviation of the total, in percent points.
            Defaults to 2.0.

    Returns:
        np.ndarray: float64 fractions (percent / 100), one per class.

    Raises:
        ValueError: Naming the offending item, class or total.
    """
    values = np.zeros(len(class_names), dtype=np.float64)
    for i, value in _share_items(text, class_names, _ITEM, 'parse',
                                 'each item must look like "building: 30%"',
                                 f'"{class_display_name(class_names[0])}: '
                                 '30%, ..."'):
        values[i] = value
    total = values.sum()
    if total > 100.0 + tolerance or (require_total
                                     and abs(total - 100.0) > tolerance):
        raise ValueError(f'class shares in {text!r} sum to {total:g}%, '
                         'expected 100%')
    return values / 100.0


def share_part(prompt: str) -> Optional[str]:
    """The class-share text of a generation prompt, or None.

    A prompt is composed of '. '-separated parts: the share text
    (:func:`format_class_shares`) and free caption text, in either order.
    The share part is the first whose first comma-separated item has the
    share form ``name: P%``; a caption's own numbers ("about 40% trees")
    are not share text.
    """
    for part in prompt.split('. '):
        part = part.strip().rstrip('.')
        if _ITEM.match(part.split(',')[0]):
            return part
    return None


def check_share_prompt(prompt: str, class_names: Sequence[str]) -> None:
    """Validate the class-share part of a generation prompt
    (:func:`share_part`).

    Unknown classes, repeated classes, unparsable items and totals over
    100% in the share part raise; caption text is not read, whatever
    numbers it holds. A prompt without shares (a caption alone) passes;
    shares may sum to less than 100 (partial prompts).

    Raises:
        ValueError: From :func:`parse_class_shares`, naming the item.
    """
    part = share_part(prompt)
    if part is not None:
        parse_class_shares(part, class_names, require_total=False)


def parse_share_spec(text: str, class_names: Sequence[str]
                     ) -> Dict[str, float]:
    """Read a user's target-share specification, ``"car=5,clutter=8"``
    (percent; ``:`` works as well as ``=``), into ``{class: fraction}``
    with the dataset's class names.

    Raises:
        ValueError: For an unparsable item, an unknown or repeated class, a
            negative value, a total over 100%, or every class named with a
            total other than 100%.
    """
    out: Dict[str, float] = {}
    for i, value in _share_items(text, class_names, _SPEC_ITEM, 'read',
                                 'write class=percent, e.g. "car=5"',
                                 f'"{class_names[-1]}=5"'):
        name = class_names[i]
        if value < 0:
            raise ValueError(f'{name}={value:g} in {text!r} is negative')
        out[name] = value / 100.0
    total = 100 * sum(out.values())
    if total > 100 + 1e-6:
        raise ValueError(f'the shares in {text!r} sum to {total:g}%, more '
                         'than 100%')
    if len(out) == len(class_names) and abs(total - 100) > 1e-6:
        raise ValueError(f'{text!r} names every class but sums to {total:g}%;'
                         ' a full specification must sum to 100%')
    return out


def compose_prompt(share_text: str, caption: str, order: str) -> str:
    """Join share text and caption in the order a generator uses."""
    parts = {'shares': share_text, 'caption': caption.strip().rstrip('.')}
    return '. '.join(parts[k] for k in order.split('+') if parts[k])
