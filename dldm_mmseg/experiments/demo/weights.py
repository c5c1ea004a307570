"""The pretrained demo generators (``demo_weights/``): what they depend on,
when a run may reuse them, and how ``--make-weights`` writes them.

``weights.json`` records one key for the whole folder (package version,
seed, data settings: what the VAEs and every generator depend on) and a
digest per generator config. A run reuses the VAEs and each generator
whose config digest is still the one recorded; a generator whose config
changed (or that is new to the shipped set) is trained. ``--make-weights``
does the same and then writes the folder: what was current is kept as it
is, the rest is trained now and added, and ``folders`` records when and
at which commit each folder was made, and which files the weights depend
on differed from that commit.
"""
import datetime
import hashlib
import json
import os.path as osp
import shutil
import subprocess
from typing import Dict, Optional

from mmengine.config import Config

from dldm_mmseg.experiments.demo.settings import (GENERATOR_SETTINGS, VAES,
                                                  WORK_DIR_VARIABLE,
                                                  config_name)
from dldm_mmseg.utils.config import environment_variable
from dldm_mmseg.utils.hashing import differing_keys
from dldm_mmseg.utils.io import atomic_open
from dldm_mmseg.utils.weights import half_precision_copy
from dldm_mmseg.version import __version__


def weights_key(demo) -> dict:
    """What the generators depend on: the package version (the code
    that trains them), the data, the VAE fit and the generator configs
    (resolved, so an edited base counts too; with their default work dir,
    so the key does not depend on this invocation's)."""
    configs = {}
    with environment_variable(WORK_DIR_VARIABLE, None):
        for config in demo.shipped_configs:
            resolved = Config.fromfile(osp.join(demo.root,
                                                config)).to_dict()
            configs[config] = hashlib.sha256(json.dumps(
                resolved, sort_keys=True, default=str).encode()).hexdigest()
    return dict(version=__version__, seed=demo.args.seed,
                settings={k: demo.s[k] for k in GENERATOR_SETTINGS
                          if k in demo.s},
                configs=configs)


def find_shipped_weights(demo) -> Optional[str]:
    """``--weights`` when its VAEs were made with this run's version, seed
    and settings, else None (everything is then trained now). Sets
    ``demo.current_configs``: the shipped configs whose generator in it
    is current (same resolved config), the ones a run reuses."""
    args = demo.args
    demo.current_configs = []
    path = osp.join(args.weights, 'weights.json')
    if args.train_generators or not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        made = json.load(f)
    mine = json.loads(json.dumps(weights_key(demo)))
    theirs = made.get('key', {})
    configs, recorded = mine.pop('configs'), theirs.get('configs', {})
    theirs = {k: theirs.get(k) for k in mine}
    if theirs != mine:
        # shipped weights are full-demo ones; --make-weights remakes them
        if not args.quick and not args.make_weights:
            changed = differing_keys(mine, theirs)
            print(f'{args.weights} was made with another '
                  f'{" / ".join(changed)} than this run (see '
                  'weights.json); training the generators now (remake '
                  'it with `python tools/demo.py --make-weights`)')
        return None
    demo.current_configs = [c for c, digest in configs.items()
                            if recorded.get(c) == digest]
    stale = [c for c in configs if c not in demo.current_configs]
    if stale and not args.quick and not args.make_weights:
        print(f'{args.weights} holds no generator made with the current '
              f'{", ".join(stale)}: this run trains what it uses of them '
              '(remake the folder with `python tools/demo.py '
              '--make-weights`)')
    demo.shipped_info = made
    return args.weights


def git_state(root: str, paths=('configs', 'dldm_mmseg', 'tools')):
    """The commit checked out in ``root`` and the tracked files under
    ``paths`` that differ from it (``(None, [])`` outside a git work
    tree or without git).

    Args:
        root (str): The repository's work tree.
        paths (Sequence[str]): What the weights depend on, relative to
            ``root``.

    Returns:
        tuple[str | None, list[str]]: The commit and the sorted paths of
        the files with uncommitted changes.
    """
    try:
        commit = subprocess.run(
            ['git', 'rev-parse', 'HEAD'], cwd=root, capture_output=True,
            text=True, check=True).stdout.strip()
        changed = subprocess.run(
            ['git', 'diff', '--name-only', 'HEAD', '--', *paths], cwd=root,
            capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None, []
    return commit, sorted(changed)


def folder_records(info: dict) -> Dict[str, dict]:
    """When and at which commit each folder of a ``weights.json`` was
    made (one record for all in a file written before ``folders``)."""
    if 'folders' in info:
        return info['folders']
    return {name: dict(made=info['made'], commit=info.get('commit'))
            for name in info.get('bytes', {})}


def make_weights(demo) -> str:
    """fp16 copies of the VAEs and generators trained in this work dir,
    with what made them, into ``--weights``; the folders that were current
    there (and so reused by this run) are kept as they are, and those of
    generators no longer in the shipped set are removed. Writes nothing
    when everything was current."""
    out = demo.args.weights
    old = demo.shipped_info if demo.shipped else {}
    steps = {config: f'stage 1 ({name})'
             for name, config in demo.mask_configs.items()}
    steps[demo.image_config] = 'stage 2'
    made = {}
    if not demo.shipped:  # fitted now
        made = {folder: demo.vaes[content]
                for content, folder in VAES.items()}
    made.update({config_name(config): demo.export_dir(config)
                 for config in demo.shipped_configs
                 if not demo.is_shipped(config)})
    if not made:
        print(f'{out} holds every generator of this run as it is: nothing '
              'to remake (--train-generators remakes all of it)')
        return out
    # the steps of what the folder holds: kept ones as recorded, the rest
    # as timed now; a generator found trained in the work dir took its
    # time in an earlier invocation, which this one cannot tell
    seconds = {k: v for k, v in old.get('seconds', {}).items()
               if k in {'VAE fit', *steps.values()}}
    if not demo.shipped:
        seconds['VAE fit'] = demo.timings['VAE fit']
    for config in demo.shipped_configs:
        if config_name(config) in made:
            seconds.pop(steps[config], None)
            if config_name(config) not in demo.generators_found:
                seconds[steps[config]] = demo.timings[steps[config]]
    commit, uncommitted = git_state(demo.root)
    if uncommitted:
        print(f'--make-weights: {len(uncommitted)} file(s) the weights '
              f'depend on differ from commit {commit} '
              f'({", ".join(uncommitted[:5])}'
              f'{", ..." if len(uncommitted) > 5 else ""}); weights.json '
              'records them: commit them to make the folder reproducible')
    now = datetime.datetime.now().isoformat(timespec='seconds')
    records, sizes = folder_records(old), dict(old.get('bytes', {}))
    for folder, source in made.items():
        sizes[folder] = half_precision_copy(source, osp.join(out, folder))
        records[folder] = dict(made=now, commit=commit)
        if uncommitted:
            records[folder]['uncommitted'] = uncommitted
    names = set(VAES.values()) | {config_name(c)
                                  for c in demo.shipped_configs}
    path = osp.join(out, 'weights.json')
    before = set()
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            before = set(json.load(f).get('bytes', {}))
    with atomic_open(path) as f:
        json.dump(dict(
            key=weights_key(demo),
            command='python tools/demo.py --make-weights'
                    + (f' --dataset {demo.data.name}'
                       if demo.data.name != 'toy' else '')
                    + (f' --seed {demo.args.seed}' if demo.args.seed
                       else ''),
            commit=commit,
            made=now,
            seconds={k: round(v) for k, v in seconds.items()},
            bytes={k: v for k, v in sizes.items() if k in names},
            folders={k: v for k, v in records.items() if k in names}),
            f, indent=2)
    for folder in sorted(before - names):  # no longer shipped
        shutil.rmtree(osp.join(out, folder), ignore_errors=True)
    return out
