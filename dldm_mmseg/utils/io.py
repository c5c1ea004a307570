"""Atomic file writing: a reader never sees a half-written file.

Everything the project writes (patches, label maps, manifests, captions)
goes through these helpers: the data is written to a temporary file in the
destination folder, flushed, and renamed over the target, so a run killed at
any point leaves either the old file or the new one, never a truncated one.
"""
import contextlib
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Iterable, Iterator, Optional

import numpy as np
from PIL import Image

TMP_PREFIX = '.tmp-'


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _make_folder(folder: str, path: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise OSError(e.errno, f'cannot create {folder!r} to write {path!r} '
                      f'({e.strerror}); check the path and its permissions'
                      ) from e


def check_writable(path: str) -> None:
    """Raise before any work when ``path`` (a folder, made if missing)
    could not be written: the nearest existing folder on its way must be
    writable.

    Raises:
        PermissionError: Naming ``path`` and the folder that blocks it.
    """
    folder = osp.abspath(path)
    while not osp.exists(folder):
        folder = osp.dirname(folder)
    if not osp.isdir(folder):
        raise NotADirectoryError(f'cannot write into {path!r}: {folder!r} is '
                                 'a file; choose another output folder')
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f'cannot write into {path!r}: {folder!r} is not '
                              'writable; choose another output folder or fix '
                              'its permissions')


@contextlib.contextmanager
def atomic_open(path: str, mode: str = 'w', encoding: Optional[str] = None
                ) -> Iterator:
    """Open ``path`` for writing through a temporary file renamed on success.

    Args:
        path (str): Destination file.
        mode (str): ``'w'`` or ``'wb'``. Defaults to ``'w'``.
        encoding (str, optional): Text encoding; ``utf-8`` for text modes.

    Raises:
        OSError: With the destination named, when the folder is not writable
            or the disk is full. The temporary file is removed.
    """
    if mode not in ('w', 'wb'):
        raise ValueError('atomic_open supports modes "w" and "wb", '
                         f'got {mode!r}')
    folder = osp.dirname(osp.abspath(path))
    _make_folder(folder, path)
    if 'b' not in mode and encoding is None:
        encoding = 'utf-8'
    try:
        fd, tmp_path = tempfile.mkstemp(
            prefix=TMP_PREFIX, suffix=osp.basename(path), dir=folder)
    except OSError as e:
        raise OSError(e.errno, f'cannot write into {folder!r} ({e.strerror}); '
                      'check that the folder is writable') from e
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600; give the file the mode open() would
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp_path)
        if isinstance(e, OSError) and not isinstance(e, FileNotFoundError):
            raise OSError(e.errno, f'failed to write {path!r} ({e.strerror}); '
                          'nothing was left behind') from e
        raise


@contextlib.contextmanager
def atomic_directory(path: str) -> Iterator[str]:
    """Yield a temporary folder beside ``path``; on success it replaces
    ``path`` (a reader never sees a half-written folder, e.g. an export).
    The folder gets the mode ``os.makedirs`` would give it."""
    parent = osp.dirname(osp.abspath(path))
    _make_folder(parent, path)
    tmp = tempfile.mkdtemp(prefix=TMP_PREFIX, dir=parent)
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if osp.isdir(path):
            old = tempfile.mkdtemp(prefix='.old-', dir=parent)
            os.replace(path, osp.join(old, 'x'))
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if osp.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def atomic_write_image(path: str, array: np.ndarray) -> None:
    """Write an image or label map atomically; the format follows the suffix.

    Args:
        path (str): Destination (``.png`` keeps label maps lossless).
        array (np.ndarray): ``HxW`` (uint8 labels) or ``HxWx3`` RGB uint8.
    """
    fmt = Image.registered_extensions().get(osp.splitext(path)[1].lower())
    if fmt is None:
        raise ValueError(f'unknown image suffix in {path!r}; use .png or .jpg')
    with atomic_open(path, 'wb') as f:
        Image.fromarray(np.ascontiguousarray(array)).save(f, format=fmt)


def atomic_write_jsonl(path: str, records: Iterable[dict]) -> None:
    """Write records as JSON lines, atomically."""
    with atomic_open(path, 'w') as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + '\n')


def read_jsonl(path: str, tolerate_truncated_tail: bool = False) -> list:
    """Read a JSON-lines file.

    Args:
        path (str): File to read.
        tolerate_truncated_tail (bool): Drop an unparsable last line (the
            trace of a killed append) instead of raising. Defaults to False.

    Raises:
        ValueError: Naming the file and line number of a malformed record.
    """
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    records = []
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            if tolerate_truncated_tail and i == last:
                break
            raise ValueError(f'{path}:{i + 1}: not a JSON record ({e}); '
                             'fix or remove that line') from e
    return records


def remove_stale_temporaries(folder: str) -> int:
    """Delete temporary files left by a killed writer; returns how many."""
    if not osp.isdir(folder):
        return 0
    count = 0
    for name in os.listdir(folder):
        if name.startswith(TMP_PREFIX):
            with contextlib.suppress(OSError):
                os.remove(osp.join(folder, name))
                count += 1
    return count
