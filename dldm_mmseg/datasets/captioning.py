"""Per-patch class shares and captions: ``captions.jsonl``.

One JSON record per patch of an mmseg-format dataset::

    {"id": "2_10_0_0_512_512",
     "img_path": "img_dir/train/2_10_0_0_512_512.png",   # relative to root
     "seg_map_path": "ann_dir/train/2_10_0_0_512_512.png",
     "shares": {"impervious_surface": 0.301, ...},       # valid pixels
     "share_text": "impervious surface: 30%, building: 25%, ...",
     "caption": "An aerial view of ...",
     "caption_source": "template" | "vlm:<model folder name>"}
                       # + "+appearance" with appearance=True

``appearance=True`` adds the colour of each class in the image to the
caption (``Dark green background, grey buildings.``) and ``+appearance``
to its source: without it a template caption says nothing of what the
image looks like, and stage 2 paints every tile in one average colour.

Free-text captions come from a vision-language model in a local folder
(Qwen2-VL class, through transformers, ``local_files_only``) or, without
one, from a template built on the shares. Runs are resumable: finished
records go to ``<out>.partial`` batch by batch and the final file is
renamed into place when every patch is done.
"""
import json
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

import numpy as np

from dldm_mmseg.utils.colour_names import colour_name, colour_words
from dldm_mmseg.utils.io import atomic_write_jsonl, read_jsonl
from dldm_mmseg.utils.label_stats import (class_shares, read_label_map,
                                          to_train_ids)
from dldm_mmseg.utils.prompts import (class_display_name, format_class_shares,
                                      parse_class_shares)
from dldm_mmseg.utils.progress import progress_bar
# the VLM is its own module; its names stay importable from here
from dldm_mmseg.datasets.vlm_captioner import (  # noqa: F401
    DEFAULT_VLM_PROMPT, VLMCaptioner)

_PLURALS = {'tree': 'trees', 'car': 'cars', 'building': 'buildings'}


def caption_name(class_name: str) -> str:
    """How captions name a class: its display name, plural where
    countable (``buildings``, ``low vegetation``)."""
    name = class_display_name(class_name)
    return _PLURALS.get(name, name)


def template_caption(shares: np.ndarray, class_names: Sequence[str]) -> str:
    """A deterministic caption from the class shares (no model needed).

    ``An aerial image dominated by low vegetation, with buildings and
    trees, and a few cars.``
    """
    names = [caption_name(c) for c in class_names]
    order = np.argsort(-np.asarray(shares), kind='stable')
    major = [names[i] for i in order if shares[i] >= 0.25]
    middle = [names[i] for i in order if 0.05 <= shares[i] < 0.25]
    minor = [names[i] for i in order if 0 < shares[i] < 0.05]

    def join(items):
        return items[0] if len(items) == 1 else \
            ', '.join(items[:-1]) + ' and ' + items[-1]

    parts = ['An aerial image']
    if major:
        parts.append(f' dominated by {join(major)}')
    if middle:
        parts.append(f'{"," if major else ""} with {join(middle)}')
    if minor:
        parts.append(f'{"," if major or middle else ""} and a few '
                     f'{join(minor)}' if (major or middle) else
                     f' with a few {join(minor)}')
    return ''.join(parts) + '.'


def class_colours(image: np.ndarray, label: np.ndarray, num_classes: int,
                  min_share: float = 0.05,
                  ignore_index: int = 255) -> Dict[int, np.ndarray]:
    """The per-channel median colour of each class in an image.

    Args:
        image (np.ndarray): ``H x W x 3`` RGB image, 0-255.
        label (np.ndarray): ``H x W`` train ids (``ignore_index`` for none).
        num_classes (int): Number of classes.
        min_share (float): Smallest share of the valid pixels a class
            must cover to be given.
        ignore_index (int): Label of unlabelled pixels.

    Returns:
        Dict[int, np.ndarray]: ``{train id: median RGB}``, the largest
        class first.

    Raises:
        ValueError: The image is not ``H x W x 3`` or not the label map's
            size.
    """
    if image.ndim != 3 or image.shape[2] != 3 or \
            image.shape[:2] != label.shape:
        raise ValueError(f'class colours need an H x W x 3 image and an '
                         f'H x W label map, got {image.shape} and '
                         f'{label.shape}')
    total = int((label != ignore_index).sum())
    counts = [int((label == c).sum()) for c in range(num_classes)]
    return {c: np.median(image[label == c], axis=0)
            for c in sorted(range(num_classes), key=lambda c: -counts[c])
            if counts[c] and counts[c] >= min_share * total}


def appearance_text(image: np.ndarray, label: np.ndarray,
                    class_names: Sequence[str], min_share: float = 0.05,
                    ignore_index: int = 255) -> str:
    """The colour of each class in an image, in words.

    ``Dark green background, grey buildings.``: the colour word
    (:func:`~dldm_mmseg.utils.colour_names.colour_name`) of each class's
    :func:`class_colours`, the largest class first.

    Args:
        image (np.ndarray): ``H x W x 3`` RGB image, 0-255.
        label (np.ndarray): ``H x W`` train ids (``ignore_index`` for none).
        class_names (Sequence[str]): Classes, in train-id order.
        min_share (float): Smallest share of a class to be described.
        ignore_index (int): Label of unlabelled pixels.

    Returns:
        str: The sentence, or '' when no class covers ``min_share``.

    Raises:
        ValueError: The image is not ``H x W x 3`` or not the label map's
            size.
    """
    parts = [f'{colour_name(colour)} {caption_name(class_names[c])}'
             for c, colour in class_colours(image, label, len(class_names),
                                            min_share,
                                            ignore_index).items()]
    if not parts:
        return ''
    text = ', '.join(parts) + '.'
    return text[0].upper() + text[1:]


def parse_appearance(text: str, class_names: Sequence[str]) -> Dict[str, str]:
    """The colour word of each class that :func:`appearance_text` wrote
    into a caption or a prompt.

    Where a class is named with a colour more than once (a free-text
    caption saying ``red cars`` before the appearance sentence), the last
    one counts: the appearance sentence ends the caption.

    Args:
        text (str): A caption or prompt.
        class_names (Sequence[str]): The dataset's classes.

    Returns:
        Dict[str, str]: ``{class: colour word}`` of the classes named.
    """
    names = {caption_name(c).lower(): c for c in class_names}
    colours = '|'.join(re.escape(w) for w in colour_words())
    longest_first = sorted(names, key=len, reverse=True)
    found = {}
    for colour, name in re.findall(
            rf'\b({colours}) ({"|".join(map(re.escape, longest_first))})\b',
            text, flags=re.IGNORECASE):
        found[names[name.lower()]] = colour.lower()
    return found


def list_patches(data_root: str, img_dir: str, ann_dir: str,
                 img_suffix: str = '.png', seg_map_suffix: str = '.png'
                 ) -> List[Dict[str, str]]:
    """Image/label pairs of an mmseg-format split, sorted by id.

    Raises:
        FileNotFoundError: Naming the folder, or the first image whose label
            map is missing.
    """
    ann_root = osp.join(data_root, ann_dir)
    if not osp.isdir(ann_root):
        raise FileNotFoundError(f'label folder {ann_root} does not exist; '
                                'check data_root and --ann-dir')
    patches = []
    for folder, _, names in os.walk(ann_root):
        for name in names:
            if not name.endswith(seg_map_suffix) or name.startswith('.'):
                continue
            rel = osp.relpath(osp.join(folder, name), ann_root)
            sample_id = rel[:-len(seg_map_suffix)]
            img_rel = osp.join(img_dir, sample_id + img_suffix)
            if not osp.isfile(osp.join(data_root, img_rel)):
                raise FileNotFoundError(
                    f'label {osp.join(ann_root, rel)} has no image '
                    f'{osp.join(data_root, img_rel)}; check --img-dir and '
                    '--img-suffix')
            patches.append(dict(id=sample_id, img_path=img_rel,
                                seg_map_path=osp.join(ann_dir, rel)))
    if not patches:
        raise FileNotFoundError(f'no *{seg_map_suffix} label maps under '
                                f'{ann_root}')
    return sorted(patches, key=lambda p: p['id'])


def _read_partial(path: str, wanted: set) -> Dict[str, dict]:
    """Finished records of an interrupted run (a torn last line dropped)."""
    if not osp.isfile(path):
        return {}
    return {r['id']: r for r in read_jsonl(path, tolerate_truncated_tail=True)
            if r.get('id') in wanted}


def write_captions(data_root: str, class_names: Sequence[str],
                   reduce_zero_label: bool, img_dir: str, ann_dir: str,
                   out_file: str = 'captions.jsonl',
                   captioner: Optional[VLMCaptioner] = None,
                   batch_size: int = 8, ignore_index: int = 255,
                   img_suffix: str = '.png', seg_map_suffix: str = '.png',
                   overwrite: bool = False, appearance: bool = False) -> str:
    """Compute every patch's class shares and caption; write ``out_file``.

    Args:
        data_root (str): Dataset root.
        class_names (Sequence[str]): Classes from the dataset metainfo.
        reduce_zero_label (bool): The dataset's label encoding.
        img_dir (str), ann_dir (str): Split folders relative to the root.
        out_file (str): Output, relative to the root unless absolute.
        captioner (VLMCaptioner, optional): Free-text captions; None gives
            template captions.
        batch_size (int): Patches per VLM batch (and per checkpoint of the
            partial file). Defaults to 8.
        overwrite (bool): Recompute a complete existing file.
        appearance (bool): End each caption with the colour of each class
            in the image (:func:`appearance_text`); the source gets
            ``+appearance``.

    Returns:
        str: The path written.
    """
    from PIL import Image
    out_path = out_file if osp.isabs(out_file) else osp.join(data_root,
                                                             out_file)
    partial_path = out_path + '.partial'
    patches = list_patches(data_root, img_dir, ann_dir, img_suffix,
                           seg_map_suffix)
    ids = {p['id'] for p in patches}
    source = (captioner.source if captioner else 'template') + (
        '+appearance' if appearance else '')
    if osp.isfile(out_path) and not overwrite:
        existing = read_jsonl(out_path)
        if {r.get('id') for r in existing} == ids and all(
                r.get('caption_source') == source for r in existing):
            print(f'{out_path} is complete ({len(existing)} patches); '
                  'pass --overwrite to recompute')
            return out_path
    if overwrite and osp.isfile(partial_path):
        os.remove(partial_path)
    done = {k: r for k, r in _read_partial(partial_path, ids).items()
            if r.get('caption_source') == source}
    todo = [p for p in patches if p['id'] not in done]
    check_pairs(data_root, todo)
    # Rewrite the partial file without a torn tail before appending to it.
    atomic_write_jsonl(partial_path, (done[p['id']] for p in patches
                                      if p['id'] in done))
    print(f'captions: {len(done)} of {len(patches)} patches already done, '
          f'{len(todo)} to go ({source})')
    progress = progress_bar(len(todo), 'captions') if todo else None
    with open(partial_path, 'a', encoding='utf-8') as partial:
        for start in range(0, len(todo), batch_size):
            batch = todo[start:start + batch_size]
            records, labels = [], []
            for patch in batch:
                ann_path = osp.join(data_root, patch['seg_map_path'])
                label = to_train_ids(read_label_map(ann_path),
                                     reduce_zero_label, ignore_index)
                shares = class_shares(label, len(class_names), ignore_index,
                                      ann_path, reduce_zero_label)
                if shares.sum() == 0:
                    raise ValueError(f'{ann_path} has no labelled pixel; '
                                     'remove the patch from the dataset')
                labels.append(label)
                records.append(dict(
                    patch,
                    shares={c: round(float(s), 6)
                            for c, s in zip(class_names, shares)},
                    pixels=int((label != ignore_index).sum()),
                    share_text=format_class_shares(shares, class_names),
                    caption=template_caption(shares, class_names),
                    caption_source=source))
            if captioner is not None or appearance:
                images = [Image.open(osp.join(data_root, p['img_path']))
                          .convert('RGB') for p in batch]
            if captioner is not None:
                for record, caption in zip(records, captioner(images)):
                    record['caption'] = caption
            if appearance:
                for record, image, label in zip(records, images, labels):
                    colours = appearance_text(np.asarray(image), label,
                                              class_names,
                                              ignore_index=ignore_index)
                    if colours:
                        record['caption'] = record['caption'].strip() \
                            .rstrip('.') + '. ' + colours
            for record in records:
                partial.write(json.dumps(record, ensure_ascii=False) + '\n')
                done[record['id']] = record
            partial.flush()
            os.fsync(partial.fileno())
            for _ in batch:
                progress.update()
    atomic_write_jsonl(out_path, (done[p['id']] for p in patches))
    os.remove(partial_path)
    print(f'\nwrote {out_path} ({len(patches)} patches)')
    return out_path


def check_pairs(data_root: str, patches: Sequence[dict],
                shown: int = 10) -> None:
    """Every image and label map opens and decodes, and each image has
    its label map's size: checked once here, where the data enters, so a
    bad file is named now instead of failing a DataLoader worker later.

    Raises:
        ValueError: Listing the bad files (the first ``shown``) and the
            count.
    """
    from PIL import Image
    problems = []
    for patch in patches:
        sizes = {}
        for key in ('img_path', 'seg_map_path'):
            path = osp.join(data_root, patch[key])
            try:
                with Image.open(path) as im:
                    im.load()
                    sizes[key] = im.size
            except (OSError, SyntaxError, ValueError) as e:
                problems.append(f'{path}: cannot be read ({e})')
        if len(sizes) == 2 and sizes['img_path'] != sizes['seg_map_path']:
            problems.append(
                f'{osp.join(data_root, patch["img_path"])} is '
                f'{sizes["img_path"][0]}x{sizes["img_path"][1]} but its '
                f'label map {patch["seg_map_path"]} is '
                f'{sizes["seg_map_path"][0]}x{sizes["seg_map_path"][1]}')
    if problems:
        raise ValueError(
            f'{len(problems)} bad file(s) in {data_root}; fix or remove '
            'them and run again:\n  ' + '\n  '.join(problems[:shown])
            + (f'\n  ... and {len(problems) - shown} more'
               if len(problems) > shown else ''))


FILE_NAMES = dict(img_path='image', seg_map_path='label map')


def captioned_files(captions: str, data_root: str,
                    keys: Sequence[str] = ('seg_map_path',),
                    ids: Optional[Sequence[str]] = None,
                    needed_by: str = 'this') -> List[tuple]:
    """The files a captions file's records name, in its order.

    Args:
        captions (str): A ``captions.jsonl`` (``tools/caption.py``).
        data_root (str): The folder its paths are relative to.
        keys (Sequence[str]): The record keys to read (``img_path``,
            ``seg_map_path``).
        ids (Sequence[str], optional): Only the records with these ids.
        needed_by (str): What reads the files, for the errors.

    Returns:
        list[tuple]: ``(id, path of each key)`` per record.

    Raises:
        ValueError: Naming the file and line of a record without a key (an
            older ``tools/caption.py``) or naming a file that does not
            exist, or the ids asked for that the file does not hold.
    """
    wanted = None if ids is None else set(ids)
    out = []
    for line_no, record in enumerate(read_jsonl(captions), 1):
        if wanted is not None and record.get('id') not in wanted:
            continue
        where = f'{captions}:{line_no}'
        paths = []
        for key in keys:
            if key not in record:
                raise ValueError(
                    f'{where} has no {key}, which {needed_by} reads; write '
                    'the captions again with tools/caption.py --overwrite')
            path = osp.join(data_root, record[key])
            if not osp.isfile(path):
                raise ValueError(
                    f'{where} names the {FILE_NAMES.get(key, key)} {path}, '
                    'which does not exist; write the captions again with '
                    'tools/caption.py --overwrite, or give the data root '
                    'they were written for')
            paths.append(path)
        out.append((record.get('id'), *paths))
    if wanted is not None:
        lacking = sorted(wanted - {r[0] for r in out})
        if lacking:
            raise ValueError(f'{captions} holds no patch {lacking[:3]} '
                             f'({len(lacking)} of the ids asked for)')
    return out


def load_captions(path: str, class_names: Sequence[str]) -> Dict[str, dict]:
    """Read ``captions.jsonl`` into ``{id: record}``, checking each record's
    share text parses against the classes (adds ``shares_array``)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'captions file {path} does not exist; run '
                                'tools/caption.py on the dataset first')
    records = {}
    for line_no, record in enumerate(read_jsonl(path), 1):
        try:
            record['shares_array'] = parse_class_shares(
                record['share_text'], class_names)
        except (KeyError, ValueError) as e:
            raise ValueError(f'{path}:{line_no}: bad record ({e}); re-run '
                             'tools/caption.py --overwrite') from e
        records[record['id']] = record
    return records
