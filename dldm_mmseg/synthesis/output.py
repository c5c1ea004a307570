"""What a synthesis run writes besides the networks' outputs: the set's
identity and fingerprint, the output folder's check (a folder holding
another configuration's samples is refused, naming what differs), each
sample's files and record, and the manifest."""
import hashlib
import json
import os
import os.path as osp
import shutil

import numpy as np

from dldm_mmseg.datasets.captioning import captioned_files
from dldm_mmseg.datasets.synth_layout import (ANN_DIR, IMG_DIR, INFO, MANIFEST,
                                              RECORDS, SEED_SCHEME, sample_id,
                                              synthesis_status)
from dldm_mmseg.utils.hashing import (cached_file_sha256, differing_keys,
                                      file_sha256, folder_hash)
from dldm_mmseg.utils.io import (atomic_open, atomic_write_image,
                                 atomic_write_jsonl,
                                 remove_stale_temporaries)
from dldm_mmseg.utils.label_stats import from_train_ids
from dldm_mmseg.utils.source_dataset import source_identity


def weight_hashes(settings) -> dict:
    """Hash of each generator's weights folder ('in-memory' for a model
    given without one) and of the checkpoints of the segmentors that guide
    (``seg_guidance``) or filter (``consistency``) the set."""
    hashes = {}
    for key in ('mask_generator', 'image_generator'):
        weights = (getattr(settings, key) or {}).get('weights')
        if key == 'mask_generator' and settings.masks == 'real':
            hashes[key] = 'not used'  # stage 1 makes none of the set
        else:
            hashes[key] = folder_hash(weights) if weights else 'in-memory'
    for key in ('seg_guidance', 'consistency'):
        checkpoint = getattr(getattr(settings, key), 'checkpoint', None)
        if checkpoint:
            hashes[key] = cached_file_sha256(checkpoint)
    return hashes


def real_captions_file(settings):
    """The real captions the target shares are drawn from (``mode='real'``),
    or None."""
    if settings.share_mode != 'real' or \
            not settings.real_captions:
        return None
    real = settings.real_captions
    return osp.join(real['data_root'], real.get('captions', 'captions.jsonl'))


def set_identity(settings) -> dict:
    """The settings and input hashes a set's samples depend on: every
    ``VALUE`` setting (:meth:`SynthesisSettings.identity_values`) and each
    ``DERIVED`` one resolved here (weights, what the real captions hold,
    batching); ``SPEED`` settings are left out. Needs no generator."""
    payload = settings.identity_values()
    payload['source_dataset'] = source_identity(settings.source_dataset)
    shares = payload.get('shares') or {}
    for key in ('patch_hardness', 'weak_classes'):
        if isinstance(shares.get(key), str) and osp.isfile(
                shares[key]):  # what the file holds, not where it is
            shares[key] = 'sha256:' + file_sha256(shares[key])[:16]
    payload['weights'] = weight_hashes(settings)
    # what the real captions hold, not how their path is spelled: a set
    # copied, moved or resumed from another directory is the same
    captions = real_captions_file(settings)
    payload['real_captions'] = file_sha256(captions)[:16] if captions \
        else None
    if settings.masks == 'real':
        payload['real_masks'] = real_masks_hash(
            captions, settings.real_captions['data_root'])
    payload['seed_scheme'] = SEED_SCHEME
    payload['batching'] = settings.batching
    if settings.batching == 'aligned':  # a sample's batch mates
        payload['batch_size'] = settings.batch_size
    return json.loads(json.dumps(payload, default=str))


def real_mask_paths(captions: str, data_root: str) -> list:
    """The label maps a captions file lists (``seg_map_path``, relative
    to ``data_root``), in its order: the masks a ``masks='real'`` set
    paints.

    Raises:
        ValueError: Naming the captions file and line when a record has
            no ``seg_map_path`` (an older ``tools/caption.py``) or names
            a file that does not exist.
    """
    return [path for _, path in captioned_files(
        captions, data_root, needed_by="synthesis.masks='real'")]


def real_masks_hash(captions: str, data_root: str) -> str:
    """Hash of the label maps of :func:`real_mask_paths`, with their
    paths as the captions give them."""
    digest = hashlib.sha256()
    for path in real_mask_paths(captions, data_root):
        digest.update(osp.relpath(path, data_root).encode())
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()[:16]


def fingerprint_of(identity: dict) -> str:
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def other_configuration(out_dir: str, identity: dict):
    """None when ``out_dir`` holds no set record or one of ``identity``;
    else what differs, in words."""
    info_path = osp.join(out_dir, INFO)
    if not osp.isfile(info_path):
        return None
    with open(info_path, encoding='utf-8') as f:
        info = json.load(f)
    if info.get('fingerprint') == fingerprint_of(identity):
        return None
    theirs = info.get('identity')
    changed = differing_keys(identity, theirs) if theirs else None
    return f'{", ".join(changed)} differ' if changed else \
        'made by an older version'


class SetOutputMixin:
    """For :class:`SynthesisEngine` (its ``settings``, ``cfg``,
    ``weight_hashes``, ``batching``, ``batch_size``,
    ``classes``, ``reduce_zero_label`` and ``share_sampler``)."""

    def fingerprint(self) -> str:
        """What makes two runs' samples interchangeable: everything but
        ``num`` and speed settings (a hash of :meth:`identity`)."""
        return fingerprint_of(self.identity())

    def identity(self) -> dict:
        """:func:`set_identity` of this engine's settings."""
        return set_identity(self.settings)

    def prepare_output(self, out_dir: str, overwrite: bool) -> None:
        """Create ``out_dir`` or check it holds this configuration's samples
        (refuse another's unless ``overwrite``)."""
        info_path = osp.join(out_dir, INFO)
        identity = self.identity()
        fingerprint = fingerprint_of(identity)
        if osp.isfile(info_path):
            what = other_configuration(out_dir, identity)
            if what is not None:
                if not overwrite:
                    raise ValueError(
                        f'{out_dir} holds samples of another configuration '
                        f'({what}; see {info_path}), which must not be mixed '
                        'with this one\'s: write to another folder, or '
                        'delete these samples and start again with '
                        '`python tools/synthesize.py CONFIG --out '
                        f'{out_dir} --overwrite`')
                for sub in ('img_dir', 'ann_dir', RECORDS):
                    shutil.rmtree(osp.join(out_dir, sub), ignore_errors=True)
                for name in (MANIFEST, INFO):
                    if osp.isfile(osp.join(out_dir, name)):
                        os.remove(osp.join(out_dir, name))
        elif osp.isdir(out_dir) and any(
                n for n in os.listdir(out_dir) if not n.startswith('.')):
            has_samples = osp.isdir(osp.join(out_dir, IMG_DIR)) and \
                os.listdir(osp.join(out_dir, IMG_DIR))
            if has_samples and not overwrite:
                raise ValueError(
                    f'{out_dir} holds files but no {INFO}: not a set made '
                    'by this tool; use an empty folder or --overwrite')
        for sub in (IMG_DIR, ANN_DIR, RECORDS):
            os.makedirs(osp.join(out_dir, sub), exist_ok=True)
            remove_stale_temporaries(osp.join(out_dir, sub))
        with atomic_open(info_path) as f:
            json.dump(dict(fingerprint=fingerprint, identity=identity,
                           config=self.cfg, weights=self.weight_hashes), f,
                      indent=2, default=str)

    def _write(self, out_dir: str, plan: dict, mask: dict,
               image: np.ndarray, seconds: float) -> None:
        atomic_write_image(osp.join(out_dir, IMG_DIR, plan['id'] + '.png'),
                           image)
        atomic_write_image(osp.join(out_dir, ANN_DIR, plan['id'] + '.png'),
                           from_train_ids(mask['labels'],
                                          self.reduce_zero_label))
        record = dict(
            id=plan['id'], seed=plan['seed'], mask_seed=mask['mask_seed'],
            image_seed=plan['image_seed'],
            prompt=plan['mask_prompt'], image_prompt=plan['image_prompt'],
            target_shares=dict(zip(self.classes,
                                   np.round(plan['target'], 6).tolist())),
            measured_shares=dict(zip(self.classes,
                                     np.round(mask['measured'], 6).tolist())),
            cpe=round(mask['cpe'], 4), tries=mask['tries'],
            rejection_passed=mask.get('rejection_passed', True),
            generator_weights=self.weight_hashes,
            **({'user_shares': self.share_sampler.user_shares}
               if self.share_sampler.user_shares else {}),
            seconds=round(seconds, 4), **mask.get('consistency', {}),
            **({'real_patch': self.share_sampler.patches[plan['patch']]['id']}
               if self.share_sampler.patches and plan['patch'] is not None
               else {}),
            **({'real_mask': mask['real_mask']} if 'real_mask' in mask
               else {}))
        with atomic_open(osp.join(out_dir, RECORDS,
                                  plan['id'] + '.json')) as f:
            json.dump(record, f)

    def write_manifest(self, out_dir: str, num: int) -> str:
        """Merge the per-sample records of ``0..num-1`` into manifest.jsonl
        (sorted by id), atomically."""
        status = synthesis_status(out_dir, num)
        if status['missing']:
            raise RuntimeError(
                f'{len(status["missing"])} samples are missing in {out_dir} '
                f'(e.g. {status["missing"][:3]}); run synthesis again with '
                'the same --out to complete them')
        records = []
        for i in range(num):
            with open(osp.join(out_dir, RECORDS, sample_id(i) + '.json'),
                      encoding='utf-8') as f:
                records.append(json.load(f))
        path = osp.join(out_dir, MANIFEST)
        atomic_write_jsonl(path, records)
        return path
