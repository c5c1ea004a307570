"""Content hashes of files and exported weight folders, cached so that a
resumed run does not hash gigabytes again, and the comparison of the
identity records outputs are reused by."""
import contextlib
import hashlib
import json
import os
import os.path as osp

from dldm_mmseg.utils.io import atomic_open


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _hash_cache_path() -> str:
    root = os.environ.get('XDG_CACHE_HOME') or osp.join(
        osp.expanduser('~'), '.cache')
    return osp.join(root, 'dldm_mmseg', 'sha256.json')


def cached_file_sha256(path: str) -> str:
    """:func:`file_sha256`, remembered by real path, size and mtime in
    ``~/.cache/dldm_mmseg/sha256.json`` (``$XDG_CACHE_HOME``): hashing
    SD 1.5's 3.4 GB UNet on every resume would cost seconds each time."""
    stat = os.stat(path)
    key = f'{osp.realpath(path)}:{stat.st_size}:{stat.st_mtime_ns}'
    cache_file = _hash_cache_path()
    cache = {}
    with contextlib.suppress(OSError, ValueError):
        with open(cache_file, encoding='utf-8') as f:
            cache = json.load(f)
    if key not in cache:
        cache[key] = file_sha256(path)
        with contextlib.suppress(OSError):  # a read-only home: no cache
            with atomic_open(cache_file) as f:
                json.dump(cache, f)
    return cache[key]


def folder_hash(folder: str) -> str:
    """Hash of every weight and config file of an exported generator
    folder, subfolders included (a fully fine-tuned export keeps its
    networks in ``unet/``, ``text_encoder/``, ...), with their relative
    paths.

    Raises:
        FileNotFoundError: When the folder holds no such file.
    """
    paths = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        paths += [osp.relpath(osp.join(root, n), folder) for n in names
                  if n.endswith(('.safetensors', '.bin', '.json'))
                  and not n.startswith('.')]
    if not paths:
        raise FileNotFoundError(
            f'{folder} holds no weights (.safetensors, .bin) or configs; '
            'point at work_dir/export/final of a generator run')
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.replace(os.sep, '/').encode())
        digest.update(cached_file_sha256(osp.join(folder, path)).encode())
    return digest.hexdigest()[:16]


def differing_keys(mine: dict, theirs: dict) -> list:
    """Sorted keys of either record whose values differ once both are
    read as JSON (a tuple equals its list)."""
    mine, theirs = (json.loads(json.dumps(r, default=str))
                    for r in (mine, theirs))
    return sorted(k for k in set(mine) | set(theirs)
                  if mine.get(k) != theirs.get(k))
