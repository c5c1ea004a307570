"""Training one segmentation config at several synthetic ratios
(``tools/sweep.py``, the demo's ablation): one train + test run per alpha,
reused when its ``metrics.json`` exists, and variants of a config's
synthetic set (weak classes, share guidance, segmentor guidance, a
class-relative filter)."""
import glob
import hashlib
import json
import os.path as osp
from typing import Optional

from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.runner.checkpoint import find_latest_checkpoint

from dldm_mmseg.utils.config import check_weights_offline, load_run_config
from dldm_mmseg.utils.hashing import (cached_file_sha256, differing_keys,
                                      folder_hash)
from dldm_mmseg.utils.io import atomic_open

# beside a run's test metrics (metrics.json): the metrics of its last
# validation, what settings and weak classes are chosen by
VAL_METRICS = 'val_metrics.json'
# beside metrics.json: what the run was made from (reuse_or_run checks it)
RUN_IDENTITY = 'run_identity.json'


def run_alpha(config: str, alpha: float, work_dir: str,
              cfg_options=None, variant: dict = None) -> dict:
    """Train and test at one alpha (on a variant of the synthetic set with
    ``variant``, see :func:`set_variant`); returns the test metrics."""
    cfg = load_run_config(config, cfg_options, work_dir=work_dir,
                          format_python_code=False)  # many short runs
    if variant:
        set_variant(cfg, **variant)
    sampler = cfg.train_dataloader.sampler
    if 'MixedRatioSampler' not in sampler.get('type', ''):
        raise ValueError(f'{config} does not use a MixedRatioSampler '
                         f'(sampler {sampler.get("type")}); sweep a *_syn*.py '
                         'config')
    if alpha < 0:
        raise ValueError(f'alpha must be >= 0, got {alpha}')
    sampler.syn_ratio = alpha
    return train_and_test(cfg)


def run_config(config: str, work_dir: str, cfg_options=None) -> dict:
    """Train and test ``config`` as it is (with ``cfg_options``) in
    ``work_dir``; returns the test metrics (:func:`train_and_test`)."""
    return train_and_test(load_run_config(config, cfg_options,
                                          work_dir=work_dir,
                                          format_python_code=False))


def schedule_options(iters: int, seed: Optional[int] = None) -> dict:
    """cfg-options that end training, its one validation and its
    checkpoint at ``iters`` (a poly schedule without ``end`` stretches to
    it) and, unless None, set the random seed."""
    options = {'train_cfg.max_iters': iters,
               'train_cfg.val_interval': iters,
               'default_hooks.checkpoint.interval': iters}
    if seed is not None:
        options['randomness.seed'] = seed
    return options


def set_variant(cfg, suffix: str, options: dict):
    """``cfg`` (loaded) with its synthetic set replaced by a variant: each
    ``DiffusionSynthDataset`` that makes its own set (``synthesis``) reads
    and makes it in ``<data_root>_<suffix>``, with ``options`` merged into
    its synthesis options (a dict value into the dict already there).

    Raises:
        ValueError: When no dataset of ``train_dataloader`` makes its set.
    """
    train = cfg.train_dataloader.dataset
    made = [d for d in train.get('datasets', [train])
            if d.get('type') == 'DiffusionSynthDataset'
            and d.get('synthesis')]
    if not made:
        raise ValueError(f'the {suffix} variant needs a DiffusionSynthDataset '
                         'with synthesis=dict(config=..., num=...) in '
                         'train_dataloader (it makes the second set)')
    for dataset in made:
        dataset['data_root'] = dataset['data_root'].rstrip('/') + '_' + suffix
        merged = dict(dataset['synthesis'].get('options') or {})
        for key, value in options.items():
            merged[key] = dict(merged.get(key) or {}, **value) \
                if isinstance(value, dict) and isinstance(
                    merged.get(key), dict) else value
        dataset['synthesis']['options'] = merged
    return cfg


def weak_class_variant(metrics_file: str, check_file: bool = True) -> dict:
    """The :func:`set_variant` whose target shares are boosted by class
    weakness (``shares.weak_classes``), made in
    ``<data_root>_weak_classes``."""
    if check_file and not osp.isfile(metrics_file):
        raise FileNotFoundError(f'--weak-classes {metrics_file} does not '
                                'exist: a test metrics file of a real-only '
                                'run (e.g. <work-dir>/alpha_0/metrics.json)')
    return dict(suffix='weak_classes', options=dict(shares=dict(
        weak_classes=osp.abspath(metrics_file))))


def class_filter_variant(reference: dict, real_root: str,
                         reduce_zero_label: bool,
                         split: str = 'train') -> dict:
    """The :func:`set_variant` whose synthetic pixels the real-only
    segmentor ``reference`` (``config``, ``checkpoint``) finds hard for
    their class are ignored (FreeMask): a loss over twice its mean loss of
    the class on the real ``split`` pixels of ``real_root`` (train, or
    held-out val pixels it did not learn from). Made in
    ``<data_root>_class_filter`` (``_class_filter_<split>`` for a split
    other than train)."""
    held_out = split != 'train'
    return dict(
        suffix='class_filter' + (f'_{split}' if held_out else ''),
        options=dict(consistency=dict(
            reference, rule='class_loss', loss_multiple=2.0,
            min_class_pixels=1024, mode='ignore', real_root=real_root,
            reduce_zero_label=reduce_zero_label,
            **(dict(real_split=split) if held_out else {}))))


def config_digest(cfg) -> str:
    """sha256 of a loaded config's settings, leaving out what names one
    invocation's run (``work_dir``, ``experiment_name``, the visualizer's
    name)."""
    settings = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    for key in ('work_dir', 'experiment_name', 'launcher'):
        settings.pop(key, None)
    if isinstance(settings.get('visualizer'), dict):
        settings['visualizer'] = {k: v for k, v in
                                  settings['visualizer'].items()
                                  if k != 'name'}
    return hashlib.sha256(json.dumps(settings, sort_keys=True,
                                     default=str).encode()).hexdigest()


def config_run_identity(config: str, cfg_options=None) -> dict:
    """What the metrics of a run of ``config`` as it is depend on: the
    resolved config with its options (:func:`config_digest`)."""
    return dict(config=config_digest(load_run_config(
        config, cfg_options, format_python_code=False)))


def alpha_run_identity(config: str, alpha: float, cfg_options=None,
                       variant: dict = None) -> dict:
    """What a :func:`run_alpha` run's metrics depend on: the resolved
    config with its options, alpha, and its set variant, the files the
    variant reads (a metrics file, a checkpoint, a generator's exported
    weights) by content rather than path."""
    identity = dict(config_run_identity(config, cfg_options), alpha=alpha)
    if variant:
        identity['variant'] = dict(suffix=variant['suffix'],
                                   options=_by_content(variant['options']))
    return identity


def _by_content(options: dict) -> dict:
    """``options`` (nested) with the files they name (checkpoints, the
    weak-class metrics) replaced by their sha256, the generator weight
    folders (``weights``) by their :func:`folder_hash`, and the folders a
    variant writes or reads data from (``real_root``) left out."""
    out = {}
    for key, value in options.items():
        if isinstance(value, dict):
            out[key] = _by_content(value)
        elif key in ('checkpoint', 'weak_classes', 'patch_hardness',
                     'config') and \
                isinstance(value, str) and osp.isfile(value):
            out[key] = 'sha256:' + cached_file_sha256(value)
        elif key == 'weights' and isinstance(value, str) and \
                osp.isdir(value):
            out[key] = 'folder:' + folder_hash(value)
        elif key != 'real_root':
            out[key] = value
    return json.loads(json.dumps(out, default=str))


def check_run_identity(record: str, identity: dict, what: str) -> None:
    """Refuse to reuse an output whose record (``record``, a JSON file) is
    missing or not ``identity``, naming the keys that differ.

    Raises:
        ValueError: Saying ``what`` is reused and what differs.
    """
    mine = json.loads(json.dumps(identity, default=str))
    theirs = None
    if osp.isfile(record):
        with open(record, encoding='utf-8') as f:
            theirs = json.load(f)
    if theirs != mine:
        differ = 'no record of what made it' if theirs is None else \
            ', '.join(differing_keys(mine, theirs)) + ' differ'
        raise ValueError(
            f'{what} of another run ({differ}; see {record}): delete its '
            'folder to run again, or use another work dir')


def reuse_or_run(run_dir: str, run, *args, identity: dict = None) -> dict:
    """The metrics of a finished run (``run_dir/metrics.json``), or
    ``run(*args)``'s, saved there atomically: a killed sweep resumes.

    With ``identity`` (what the run's metrics depend on, e.g. a
    :func:`config_digest`), it is recorded beside them
    (:data:`RUN_IDENTITY`) and a finished run is reused only when its
    record is the same; otherwise the run is refused, naming what differs.

    Raises:
        ValueError: ``run_dir`` holds metrics of another run, or of one
            without a record.
    """
    done = osp.join(run_dir, 'metrics.json')
    record = osp.join(run_dir, RUN_IDENTITY)
    if osp.isfile(done):
        if identity is not None:
            check_run_identity(record, identity,
                               f'{run_dir} holds the metrics')
        with open(done, encoding='utf-8') as f:
            print(f'{run_dir}: done before, reused')
            return json.load(f)
    metrics = run(*args)
    if identity is not None:
        with atomic_open(record) as f:
            json.dump(identity, f, indent=2, default=str)
    with atomic_open(done) as f:
        json.dump(metrics, f, indent=2)
    return metrics


def finished_run(run_dir: str, config: Optional[str] = None) -> dict:
    """The segmentor a finished run in ``run_dir`` trained, as
    :class:`~dldm_mmseg.evaluation.consistency.ConsistencyChecker` and the
    steering options take it: ``config`` (the file the run dumped there:
    ``config``'s file name, by default its one ``*.py``) and
    ``checkpoint`` (the last).

    Raises:
        FileNotFoundError: When ``run_dir`` holds no checkpoint, or not
            exactly one config.
    """
    name = osp.basename(config) if config else '*.py'
    configs = glob.glob(osp.join(glob.escape(run_dir), name))
    checkpoint = find_latest_checkpoint(run_dir)
    if len(configs) != 1 or checkpoint is None:
        raise FileNotFoundError(
            f'{run_dir} is not a finished segmentor run (configs {name}: '
            f'{len(configs)}, checkpoint: {checkpoint}); pass the folder of '
            'a run that trained to its end, e.g. <demo work dir>/sweep/'
            'alpha_0')
    return dict(config=configs[0], checkpoint=checkpoint)


def run_mIoU(run_dir: str) -> dict:
    """``{'test': mIoU, 'val': mIoU}`` of a finished run: its test
    (``metrics.json``) and its last validation (:data:`VAL_METRICS`)."""
    scores = {}
    for split, name in (('test', 'metrics.json'), ('val', VAL_METRICS)):
        with open(osp.join(run_dir, name), encoding='utf-8') as f:
            scores[split] = json.load(f)['mIoU']
    return scores


class LastValMetrics(Hook):
    """Keeps the metrics of the last validation of a run."""
    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.metrics = None

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.metrics = metrics


def train_and_test(cfg, name: Optional[str] = None) -> dict:
    """Train a loaded config, test it, return the test metrics as floats.

    The metrics of the last validation during training go to
    ``<work_dir>/val_metrics.json`` (:data:`VAL_METRICS`): choices between
    runs are made on them, never on the test metrics returned.
    ``name`` becomes the experiment and visualizer name (mmengine keeps one
    visualizer per name in a process, so each run needs its own); by
    default the work dir's name and a hash of its path, one per work dir.
    """
    if name is None:
        where = hashlib.sha1(
            osp.abspath(cfg.work_dir).encode()).hexdigest()[:8]
        name = f'{osp.basename(cfg.work_dir)}_{where}'
    cfg.experiment_name = name
    cfg.visualizer.name = f'visualizer_{name}'
    check_weights_offline(cfg)
    runner = Runner.from_cfg(cfg)
    last_val = LastValMetrics()
    runner.register_hook(last_val)
    runner.train()
    if last_val.metrics is not None:
        with atomic_open(osp.join(cfg.work_dir, VAL_METRICS)) as f:
            json.dump({k: float(v) for k, v in last_val.metrics.items()}, f,
                      indent=2)
    return {k: float(v) for k, v in runner.test().items()}
