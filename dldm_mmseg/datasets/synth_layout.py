"""A synthetic set on disk, and which seeds make its sample ``i``: the one
definition that the synthesis engine (the writer) and
``DiffusionSynthDataset``, the analysis and the tools (the readers) use::

    out_dir/img_dir/train/<id>.png   generated images
    out_dir/ann_dir/train/<id>.png   masks in the real set's label encoding
    out_dir/manifest.jsonl           one record per sample
    out_dir/synth_info.json          the configuration fingerprint
    out_dir/records/<id>.json        per-sample commit records (a sample is
                                     done once its record exists)
"""
import hashlib
import os
import os.path as osp
from typing import Dict, List

from dldm_mmseg.utils.io import read_jsonl

IMG_DIR, ANN_DIR, RECORDS = 'img_dir/train', 'ann_dir/train', 'records'
MANIFEST, INFO = 'manifest.jsonl', 'synth_info.json'
RETRY_SEED_STRIDE = 1_000_003  # retry k of sample i uses seed + k * stride
#: Image seeds live in their own stream (``image_seed``): the mask and the
#: image of a sample must not start from the same noise (both stages have
#: the same latent shape). Sets made before there was an image stream used
#: ``seed`` for both; they load as before but are not extended.
SEED_SCHEME = 2


def image_seed(base_seed: int, index: int) -> int:
    """The image generator's seed of sample ``index``: a 31-bit value drawn
    from ``(base_seed, index, 'image')``, unrelated to the mask seeds
    ``base_seed + index + k * RETRY_SEED_STRIDE``."""
    text = f'image:{int(base_seed)}:{int(index)}'.encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], 'little') >> 1


def sample_id(index: int) -> str:
    """The id (and file stem) of sample ``index``: ``000042``."""
    return f'{index:06d}'


def synthesis_status(out_dir: str, num: int) -> Dict[str, object]:
    """How far a synthetic set is: ``complete`` when the manifest lists
    ``num`` samples whose files exist; ``done`` ids from records."""
    records_dir = osp.join(out_dir, RECORDS)
    done = set()
    if osp.isdir(records_dir):
        for name in os.listdir(records_dir):
            if name.endswith('.json') and not name.startswith('.'):
                sid = name[:-5]
                if osp.isfile(osp.join(out_dir, IMG_DIR, sid + '.png')) and \
                        osp.isfile(osp.join(out_dir, ANN_DIR, sid + '.png')):
                    done.add(sid)
    wanted = {sample_id(i) for i in range(num)}
    manifest = osp.join(out_dir, MANIFEST)
    listed = set()
    if osp.isfile(manifest):
        listed = {str(r.get('id')) for r in read_jsonl(manifest)}
    return dict(complete=listed == wanted and wanted <= done,
                done=done & wanted, missing=sorted(wanted - done))


def work_groups(num: int, done: set, batch_size: int, batching: str,
                rank: int = 0, world_size: int = 1) -> List[tuple]:
    """A rank's network batches of samples ``0..num-1``: ``(indices
    computed together, the indices among them to write)``, skipping the
    ``done`` ids.

    ``batching='aligned'``: whole chunks ``[c * B, (c + 1) * B)`` holding a
    missing sample, ``c % world_size == rank``; a chunk is computed whole
    even past ``num`` (a set extended later has the same files). Otherwise:
    this rank's missing samples (``i % world_size == rank``) in runs of
    ``batch_size``.
    """
    size = batch_size
    if batching == 'aligned':
        groups = []
        for chunk in range(rank, -(-num // size), world_size):
            indices = list(range(chunk * size, (chunk + 1) * size))
            write = {i for i in indices
                     if i < num and sample_id(i) not in done}
            if write:
                groups.append((indices, write))
        return groups
    todo = [i for i in range(num) if i % world_size == rank
            and sample_id(i) not in done]
    return [(todo[k:k + size], set(todo[k:k + size]))
            for k in range(0, len(todo), size)]
