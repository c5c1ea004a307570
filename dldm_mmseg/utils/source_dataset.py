"""What a generator or a synthetic set needs to know about the real set:
its classes, palette and label encoding.

The real set is named the way mmseg's own configs name a dataset: a
registered type (``'PotsdamDataset'``), or a dataset config whose
``metainfo`` holds the classes and palette, so a new set needs no Python::

    source_dataset = dict(
        type='BaseSegDataset', reduce_zero_label=True,
        metainfo=dict(classes=('water', 'field', 'forest'),
                      palette=[[0, 0, 255], [255, 255, 0], [0, 128, 0]]))
"""
import inspect
import numbers
from typing import Dict, Union

import numpy as np
from mmseg.registry import DATASETS

SourceDataset = Union[str, dict]

EXAMPLE = ("dict(type='BaseSegDataset', reduce_zero_label=True, "
           "metainfo=dict(classes=('water', 'field'), "
           "palette=[[0, 0, 255], [255, 255, 0]]))")


def source_dataset_defaults(source: SourceDataset) -> Dict:
    """Metainfo and label encoding of the real set.

    Args:
        source (str | dict): A registered dataset type, or a dataset config
            (``type`` plus optional ``metainfo`` and ``reduce_zero_label``,
            which override the type's class attributes and constructor
            defaults, as mmseg's datasets take them).

    Returns:
        dict: ``metainfo`` (``classes`` tuple, ``palette`` list of RGB
        lists) and ``reduce_zero_label``.

    Raises:
        ValueError: The classes or palette are missing, of different
            lengths, or a palette entry is not an RGB triple in 0..255.
    """
    if source is None:
        raise ValueError(f'source_dataset is required: the real set\'s '
                         f'registered type (e.g. "PotsdamDataset") or a '
                         f'dataset config such as {EXAMPLE}')
    config = dict(type=source) if isinstance(source, str) else dict(source)
    if 'type' not in config:
        raise ValueError(f'source_dataset {source!r} has no "type"; e.g. '
                         f'{EXAMPLE}')
    cls = config['type']
    if isinstance(cls, str):
        cls = DATASETS.get(cls)
        if cls is None:
            raise KeyError(
                f'source_dataset type {config["type"]!r} is not a '
                'registered dataset; use a registered type (e.g. '
                '"PotsdamDataset"), import your module with the config\'s '
                f'custom_imports, or give the classes in a config: {EXAMPLE}')
    name = getattr(cls, '__name__', str(cls))
    metainfo = dict(getattr(cls, 'METAINFO', None) or {})
    given = dict(config.get('metainfo') or {})
    if 'classes' in given and 'palette' not in given and \
            len(metainfo.get('palette') or []) != len(given['classes']):
        raise ValueError(
            f'source_dataset {getattr(cls, "__name__", cls)}: metainfo '
            f'names {len(given["classes"])} classes but no palette (the '
            f'type\'s has {len(metainfo.get("palette") or [])} colours); '
            'give metainfo.palette with one colour per class')
    metainfo.update(given)
    reduce_zero_label = config.get('reduce_zero_label')
    if reduce_zero_label is None:
        param = inspect.signature(cls.__init__).parameters.get(
            'reduce_zero_label')
        reduce_zero_label = bool(param.default) if param is not None and \
            param.default is not inspect.Parameter.empty else False
    return dict(metainfo=_checked_metainfo(metainfo, name),
                reduce_zero_label=bool(reduce_zero_label))


def _checked_metainfo(metainfo: dict, name: str) -> dict:
    """``classes`` and ``palette`` of ``metainfo``, validated."""
    classes, palette = metainfo.get('classes'), metainfo.get('palette')
    if not classes or palette is None:
        missing = 'classes' if not classes else 'palette'
        raise ValueError(
            f'source_dataset {name} has no metainfo {missing}: masks are '
            'drawn in one colour per class, so both are needed; give them '
            f'in the dataset config, e.g. {EXAMPLE}')
    classes = tuple(str(c) for c in classes)
    palette = [[int(v) if isinstance(v, numbers.Integral) else v
                for v in colour] for colour in palette]
    if len(palette) != len(classes):
        raise ValueError(
            f'source_dataset {name}: metainfo palette has {len(palette)} '
            f'colours for {len(classes)} classes {list(classes)}; give one '
            'RGB colour per class')
    for cls_name, colour in zip(classes, palette):
        if len(colour) != 3 or not all(isinstance(
                v, numbers.Integral) and 0 <= v <= 255 for v in colour):
            raise ValueError(
                f'source_dataset {name}: palette colour {colour} of class '
                f'{cls_name!r} is not an RGB triple of integers in 0..255')
    if len({tuple(c) for c in palette}) != len(palette):
        raise ValueError(
            f'source_dataset {name}: palette {palette} repeats a colour; '
            'every class needs its own (masks are drawn in these colours)')
    return dict(classes=classes, palette=palette)


def source_identity(source: SourceDataset):
    """What identifies the real set in a synthetic set's fingerprint: the
    type name for a registered type as it is (``'PotsdamDataset'``,
    ``dict(type='PotsdamDataset')`` or a config that restates its defaults
    alike, so sets made before dataset configs existed keep their
    identity), else the classes, palette and label encoding it resolves
    to."""
    if isinstance(source, str):
        return source
    resolved = source_dataset_defaults(source)
    kind = source.get('type')
    if isinstance(kind, str):  # a registered type as it is, however spelt
        name = kind.split('.')[-1]  # 'mmseg.PotsdamDataset' too
        try:
            bare = source_dataset_defaults(name)
        except (KeyError, ValueError):  # no classes of its own
            bare = None
        if bare == resolved:
            return name
    return dict(resolved['metainfo'],
                reduce_zero_label=resolved['reduce_zero_label'])


def check_same_real_set(model, dataset, where: str) -> None:
    """Raise when a model and a dataset it trains or is validated on name
    different real sets: a config that changed ``model.source_dataset``
    but not the dataset's ``source_dataset``, or the reverse.

    Compares the classes (where the model has them) and the palette; a
    dataset without either (a wrapper) is not checked.

    Args:
        model: Has ``palette`` (and maybe ``classes``), from its
            ``source_dataset``.
        dataset: Has ``classes`` and ``palette``, from its own.
        where (str): Names the config and the dataset in the message.

    Raises:
        ValueError: Naming both classes or palettes and the fix.
    """
    data_classes = getattr(dataset, 'classes', None)
    data_palette = getattr(dataset, 'palette', None)
    if data_classes is None or data_palette is None:
        return
    model_classes = getattr(model, 'classes', None)
    if model_classes is not None and \
            tuple(model_classes) != tuple(data_classes):
        differ = (f'classes {list(model_classes)} and the dataset the '
                  f'classes {list(data_classes)}')
    elif np.asarray(model.palette).tolist() != \
            np.asarray(data_palette).tolist():
        differ = (f'palette {np.asarray(model.palette).tolist()} and the '
                  f'dataset the palette {np.asarray(data_palette).tolist()}')
    else:
        return
    raise ValueError(
        f'{where}: the model has the {differ}; give model.source_dataset '
        'and the dataset\'s source_dataset the same real set (a variable '
        'stated once in the config, as configs/generators/'
        'mask_lora_vaihingen.py does)')


def dataset_label(source: SourceDataset) -> str:
    """A short name of the real set for messages and reports."""
    if isinstance(source, str):
        return source
    classes = (source.get('metainfo') or {}).get('classes')
    kind = source.get('type', '?')
    kind = kind if isinstance(kind, str) else getattr(kind, '__name__', kind)
    return f'{kind} ({len(classes)} classes)' if classes else str(kind)


def source_dataset_from_config(config) -> SourceDataset:
    """The real set a config names, for tools that take ``--config``.

    Looked up, in order, as ``source_dataset`` at the top level, in
    ``synthesis`` (synthesis configs) or in ``model`` (generator configs),
    then as the first train set that is not synthetic (through
    ``ConcatDataset`` / ``RepeatDataset`` style wrappers): its ``type``,
    ``metainfo`` and ``reduce_zero_label``. Loading the config imports its
    ``custom_imports`` (mmengine does), so a dataset registered in a user's
    module is found.

    Args:
        config (str | Config): A config file or a loaded config.

    Returns:
        str | dict: What :func:`source_dataset_defaults` takes.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    name = config if isinstance(config, str) else 'the config'
    for holder in (cfg, cfg.get('synthesis') or {}, cfg.get('model') or {}):
        source = holder.get('source_dataset')
        if source is not None:
            return _plain(source)
    pending = [(cfg.get('train_dataloader') or {}).get('dataset')]
    while pending:
        dataset = pending.pop(0)
        if not dataset:
            continue
        if dataset.get('datasets'):
            pending.extend(dataset['datasets'])
        elif dataset.get('dataset'):
            pending.append(dataset['dataset'])
        elif dataset.get('source_dataset') is not None:  # a generator's set
            return _plain(dataset['source_dataset'])
        elif dataset.get('type') != 'DiffusionSynthDataset':
            return {key: _plain(dataset[key]) for key in
                    ('type', 'metainfo', 'reduce_zero_label')
                    if dataset.get(key) is not None}
    raise ValueError(f'{name} names no real dataset: give source_dataset = '
                     f'{EXAMPLE} at its top level, or a train_dataloader '
                     'whose dataset is the real set')


def _plain(value):
    """Config values as plain dicts, lists and tuples."""
    if hasattr(value, 'to_dict'):
        return value.to_dict()
    return value


def add_source_dataset_args(parser) -> None:
    """``--dataset TYPE`` / ``--config CFG`` (one of them) on an argparse
    parser, for tools that need the real set's classes; read them back
    with :func:`source_dataset_from_args`."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--dataset', default='PotsdamDataset',
                        help='registered dataset type giving the classes, '
                        'palette and label encoding (default: '
                        'PotsdamDataset)')
    source.add_argument('--config', help='take the classes from this config '
                        'instead (its source_dataset or real train set; a '
                        'BaseSegDataset with metainfo needs no code)')


def source_dataset_from_args(args) -> SourceDataset:
    """The real set named by :func:`add_source_dataset_args`' options."""
    return source_dataset_from_config(args.config) if args.config else \
        args.dataset
