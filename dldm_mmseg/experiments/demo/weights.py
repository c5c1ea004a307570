"""The pretrained demo generators (``demo_weights/``): what they depend on,
when a run may reuse them, and how ``--make-weights`` writes them."""
import datetime
import hashlib
import json
import os.path as osp
import subprocess
from typing import Optional

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
    """``--weights`` when it holds generators made with this run's
    settings, else None (the generators are then trained now)."""
    args = demo.args
    path = osp.join(args.weights, 'weights.json')
    if args.train_generators or args.make_weights or \
            not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        made = json.load(f)
    if made.get('key') != json.loads(json.dumps(weights_key(demo))):
        if not args.quick:  # shipped weights are full-demo ones
            changed = differing_keys(weights_key(demo),
                                     made.get('key', {}))
            print(f'{args.weights} was made with another '
                  f'{" / ".join(changed)} than this run (see '
                  'weights.json); training the generators now (remake '
                  'it with `python tools/demo.py --make-weights`)')
        return None
    demo.shipped_info = made
    return args.weights


def make_weights(demo) -> str:
    """fp16 copies of the VAE and the generators trained in this work
    dir, with what made them, into ``--weights``."""
    out = demo.args.weights
    sizes = {folder: half_precision_copy(demo.vaes[content],
                                         osp.join(out, folder))
             for content, folder in VAES.items()}
    for config in demo.shipped_configs:
        sizes[config_name(config)] = half_precision_copy(
            demo.export_dir(config), osp.join(out, config_name(config)))
    try:
        commit = subprocess.run(
            ['git', 'rev-parse', 'HEAD'], cwd=demo.root, capture_output=True,
            text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    with atomic_open(osp.join(out, 'weights.json')) as f:
        json.dump(dict(
            key=weights_key(demo),
            command='python tools/demo.py --make-weights'
                    + (f' --dataset {demo.data.name}'
                       if demo.data.name != 'toy' else '')
                    + (f' --seed {demo.args.seed}' if demo.args.seed
                       else ''),
            commit=commit,
            made=datetime.datetime.now().isoformat(timespec='seconds'),
            seconds={k: round(v) for k, v in demo.timings.items()},
            bytes=sizes), f, indent=2)
    return out
