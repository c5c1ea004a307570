"""The demo's folders, settings and steps (``tools/demo.py``)."""
import json
import os
import os.path as osp
import re
import shutil
import time
from typing import Optional

from mmengine.config import Config
from mmengine.runner import Runner

from dldm_mmseg.experiments.alpha_sweep import (RUN_IDENTITY, VAL_METRICS,
                                                alpha_run_identity,
                                                class_filter_variant,
                                                check_run_identity,
                                                config_digest, finished_run,
                                                reuse_or_run, run_alpha,
                                                schedule_options,
                                                train_and_test,
                                                weak_class_variant)
from dldm_mmseg.experiments.demo.settings import (MASK_NAMES, NUMERIC_NAMES,
                                                  ONEHOT_MASK_NAMES,
                                                  ONEHOT_NAMES,
                                                  ONEHOT_NUMERIC_NAMES,
                                                  ONEHOT_VAE,
                                                  SETTINGS, VAES,
                                                  WORK_DIR_VARIABLE,
                                                  config_name)
from dldm_mmseg.experiments.demo.weights import find_shipped_weights
from dldm_mmseg.experiments.demo_datasets import DEMO_DATASETS
from dldm_mmseg.models.vae_fitting import fit_vae
from dldm_mmseg.synthesis.engine import SynthesisEngine
from dldm_mmseg.utils.config import environment_variable, load_run_config
from dldm_mmseg.utils.hashing import differing_keys
from dldm_mmseg.utils.io import atomic_directory, atomic_open
from dldm_mmseg.utils.source_dataset import source_dataset_defaults
from dldm_mmseg.version import __version__


def synth_mask_name(root: str, configs: dict) -> str:
    """The name (a key of ``configs``) of the stage-1 model whose config
    the dataset's synth config draws its masks with."""
    with environment_variable(WORK_DIR_VARIABLE, None):
        config = Config.fromfile(osp.join(root, configs['synth'])
                                 ).synthesis.mask_generator.config
    # a one-hot model draws over a VAE the shipped weights do not hold
    shippable = MASK_NAMES + NUMERIC_NAMES
    names = [name for name in shippable if configs.get(name) == config]
    if not names:
        raise ValueError(f'{configs["synth"]} draws masks with {config}, '
                         'which is none of the demo\'s colour-mask '
                         'stage-1 configs ('
                         f'{", ".join(configs[n] for n in shippable)}); '
                         'name one of them in '
                         'synthesis.mask_generator.config')
    return names[0]


class Demo:
    """The demo's folders, settings and steps.

    It sets ``$DLDM_DEMO_DIR`` to its work dir: the demo configs read
    their data, VAEs and generators from there
    (``'{{$DLDM_DEMO_DIR:work_dirs/demo}}'``).

    Args:
        args (argparse.Namespace): ``tools/demo.py``'s arguments.
        root (str): The repository root, where the configs are.
    """

    def __init__(self, args, root: str):
        self.args = args
        self.root = root
        # one spelling of the folder, whatever the cwd: the run identities
        # hold paths under it
        self.work = osp.abspath(args.work_dir)
        if set(self.work) & set('\'"\\{}'):
            # mmengine pastes the variable into the config source
            raise ValueError(f'--work-dir {self.work}: the demo configs '
                             'read it as text, which quotes, backslashes '
                             'and braces would break; choose a path '
                             'without them')
        os.environ[WORK_DIR_VARIABLE] = self.work
        self.data = DEMO_DATASETS[args.dataset]
        configs = self.data.configs
        self.image_config = configs['image']
        # the stage-1 model the synthetic set is drawn from: the one the
        # synth config names
        self.synth_mask = synth_mask_name(root, configs)
        shipped = tuple(dict.fromkeys(MASK_NAMES + (self.synth_mask,)))
        if args.set_mask_model == self.synth_mask:
            raise ValueError(f'--set-mask-model {args.set_mask_model!r} '
                             'draws the plain set already '
                             f'({configs["synth"]}); name another model')
        names = args.mask_models or tuple(dict.fromkeys(shipped + (
            NUMERIC_NAMES if args.numeric_shares else ()) + (
            ONEHOT_NAMES if args.onehot_masks else ()) + (
            ONEHOT_NUMERIC_NAMES if args.numeric_shares
            and args.onehot_masks else ()) + (
            (args.set_mask_model,) if args.set_mask_model else ())))
        self.onehot_configs = [configs[n] for n in names
                               if n in ONEHOT_MASK_NAMES]
        self.mask_configs = {name: configs[name] for name in names}
        # what demo_weights/ holds: the paper's pair (text, with and
        # without L_prop), the synthetic set's stage 1 and stage 2
        self.shipped_configs = [configs[n] for n in shipped] + [
            self.image_config]
        self.target_classes = self.data.target_classes
        self.s = dict(SETTINGS[args.quick])
        if self.s['seg_iters'] is None:  # the sweep config's schedule
            self.s['seg_iters'] = Config.fromfile(osp.join(
                root, configs['sweep'])).train_cfg.max_iters
        if self.data.benchmark is None:  # the toy scenes' sizes
            self.s.update({f'num_{split}': num for split, num in
                           self.data.sizes[args.quick].items()})
            self.s['num_syn'] = self.s['num_syn'] or self.s['num_train']
        else:  # the benchmark's tiles (its settings are recorded in code)
            self.s['dataset'] = self.data.name
        self.counts = {split: self.s.get(f'num_{split}')
                       for split in ('train', 'val', 'test')}
        self.data_root = osp.join(self.work, 'data', self.data.data_folder)
        self.syn_root = osp.join(self.work, 'data', self.data.syn_folder)
        self.timings = {}  # this invocation's seconds per step
        # seconds per step over every invocation in this work dir, killed
        # ones included up to their last finished step (seconds.json)
        self.ledger_path = osp.join(self.work, 'seconds.json')
        self.ledger = {}
        if osp.isfile(self.ledger_path):
            with open(self.ledger_path) as f:
                self.ledger = json.load(f)
        self.generators_found = []  # exports already there, not trained
        self.shipped = find_shipped_weights(self)
        # one VAE per stage (see tools/fit_vae.py, content), where the
        # configs read it: fitted there, or copied from the shipped weights
        self.vaes = {content: osp.join(self.work, folder)
                     for content, folder in VAES.items()}
        if self.onehot_configs:  # never shipped
            self.vaes[ONEHOT_VAE[0]] = osp.join(self.work, ONEHOT_VAE[1])
        if args.stage1_only:  # stage 2 is not trained
            del self.vaes['images']
        self.stamp = int(time.time())
        self.classes = self.data.metainfo['classes']
        self.palette = self.data.metainfo['palette']

    def timed(self, name, fn, *args, **kwargs):
        """Run a step, adding its seconds to this invocation's timings and
        to the work dir's ledger (written after every step, so that a
        resumed run's report still counts what the killed one did)."""
        start = time.time()
        out = fn(*args, **kwargs)
        took = time.time() - start
        self.timings[name] = self.timings.get(name, 0) + took
        self.ledger[name] = self.ledger.get(name, 0) + took
        with atomic_open(self.ledger_path) as f:
            json.dump(self.ledger, f, indent=2)
        return out

    @property
    def seeds(self):
        """The seeds of stage 1 and the segmentors: ``--seed`` and the
        ``--seeds - 1`` after it."""
        return list(range(self.args.seed, self.args.seed + self.args.seeds))

    def seed_suffix(self, seed: Optional[int]) -> str:
        """What a run folder of ``seed`` adds to its name: nothing for
        ``--seed``, ``_seed<N>`` for the others."""
        return '' if seed in (None, self.args.seed) else f'_seed{seed}'

    def run_dir(self, config: str, seed: Optional[int] = None) -> str:
        """The work-dir folder of a config's run with ``seed``."""
        return osp.join(self.work, osp.splitext(osp.basename(config))[0]
                        + self.seed_suffix(seed))

    def export_dir(self, config: str, seed: Optional[int] = None) -> str:
        """Where a generator's export is (and the synth config reads it):
        the run's ``export/final``, trained there or copied from the
        shipped weights."""
        return osp.join(self.run_dir(config, seed), 'export', 'final')

    def is_shipped(self, config: str, seed: Optional[int] = None) -> bool:
        """Whether the run of ``config`` with ``seed`` comes from the
        shipped weights rather than training."""
        return bool(self.shipped) and seed in (None, self.args.seed) and \
            config in self.current_configs

    def copy_shipped(self, folder: str, out: str) -> None:
        """Copy ``folder`` of the shipped weights to ``out``, whole or
        not at all."""
        with atomic_directory(out) as tmp:
            shutil.copytree(osp.join(self.shipped, folder), tmp,
                            dirs_exist_ok=True)

    def check_settings(self) -> None:
        """Refuse a work dir made with other settings: every step reuses
        what it finds, so mixing would silently combine, e.g., 1-epoch
        generators of a --quick run with a full run's synthesis."""
        path = osp.join(self.work, 'demo_settings.json')
        mine = dict(self.s, version=__version__, seed=self.args.seed,
                    alphas=self.args.alphas,
                    # the shipped weights are copied into the work dir:
                    # a remake of them is another work dir
                    generators=f'{osp.abspath(self.shipped)} (made '
                    f'{self.shipped_info.get("made")})' if self.shipped
                    else 'trained in this work dir')
        if osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                theirs = json.load(f)
            changed = differing_keys(mine, theirs)
            if changed:
                raise SystemExit(
                    f'{self.work} holds a demo run with other settings '
                    f'({", ".join(changed)} differ, see {path}); use another '
                    '--work-dir, or delete that folder to start over')
        else:
            with atomic_open(path) as f:
                json.dump(mine, f, indent=2)

    def generator_options(self, config: str) -> dict:
        """The demo's overrides of a generator config: with --quick, the
        short schedule (the data and the VAE are where the config reads
        them, in the work dir)."""
        if not self.s['gen_epochs']:  # the configs' own schedule
            return {}
        return {'train_cfg.max_epochs': self.s['gen_epochs'],
                'default_hooks.checkpoint.interval': self.s['gen_epochs'],
                'train_cfg.val_interval': self.s['gen_epochs'],
                'model.inference_cfg.steps': self.s['steps'],
                'custom_hooks': [dict(type='GeneratorExportHook')]}

    def sampling_steps(self) -> dict:
        """The demo's sampling steps, as synth-config settings."""
        return {key: dict(steps=self.s['steps'])
                for key in ('mask_sampling', 'image_sampling')}

    def synthesis_cfg(self) -> dict:
        """The synth config's settings (over the work dir's data and
        generators) with the demo's sampling steps."""
        cfg = Config.fromfile(osp.join(
            self.root, self.data.configs['synth'])).synthesis.to_dict()
        for key, value in self.sampling_steps().items():
            cfg[key].update(value)
        return cfg

    def seg_options(self, config: str, iters: int,
                    seed: Optional[int] = None) -> dict:
        """The demo's overrides of a segmentation config: the schedule
        (a full run's is the config's own), the seed, and each synthetic
        dataset's size and sampling steps (for the sets a dataset makes
        itself: the variants); with --quick, the mixed-ratio sampler may
        repeat synthetic pairs."""
        options = dict(
            schedule_options(iters, self.args.seed if seed is None else seed),
            **{'default_hooks.logger.interval': max(1, min(50, iters // 4))})
        loader = Config.fromfile(osp.join(self.root, config)
                                 ).train_dataloader
        if self.args.quick and loader.get('sampler', {}).get(
                'type') == 'InfiniteMixedRatioSampler':
            # a smoke run's few pairs are drawn again beside a real
            # benchmark's hundreds of tiles
            options['train_dataloader.sampler.allow_repeats'] = True
        train = loader.dataset
        for i, dataset in enumerate(train.get('datasets', [])):
            if dataset.get('type') == 'DiffusionSynthDataset' and \
                    dataset.get('synthesis'):
                key = f'train_dataloader.dataset.datasets.{i}.synthesis'
                options[f'{key}.num'] = self.num_syn
                options[f'{key}.options'] = self.sampling_steps()
        return options

    @property
    def mask_quantiser(self) -> str:
        """How the synthetic set's stage-1 model (a colour-mask config)
        turns decoded colours into classes: ``'nearest'`` or
        ``'neighbourhood'``."""
        model = Config.fromfile(osp.join(
            self.root, self.data.configs[self.synth_mask])).model
        return (model.get('quantisation') or {}).get('type', 'nearest')

    @property
    def num_syn(self) -> int:
        """Synthetic pairs: the settings', or as many as real train
        scenes."""
        return self.s['num_syn'] or self.counts['train']

    def dataset(self):
        """The data and a captions file per split: train (the generators
        train on it), val (settings are chosen on it), test (every
        reported number)."""
        self.counts = self.data.prepare(self.data_root, self.args.quick,
                                        self.args.seed, self.args.cache)

    def fit_vae(self):
        """Fit (or copy from the shipped weights) the VAE of each stage
        that is not there yet."""
        for name, out in self.vaes.items():
            if osp.isfile(osp.join(out, 'config.json')):
                continue
            if self.shipped and name in VAES:
                print(f'      VAE of the {name} -> {out} (pretrained)')
                self.copy_shipped(VAES[name], out)
                continue
            print(f'      VAE of the {name} -> {out}')
            onehot = name == ONEHOT_VAE[0]
            content = 'masks' if onehot else name
            fit_vae(self.data_root, out, 'small', self.data.source_dataset,
                    iters=self.s['vae_iters'][content], batch_size=16,
                    kl_weight=1e-4, seed=self.args.seed, log_interval=50,
                    crop_size=self.s['vae_crop'], content=content,
                    mask_encoding='onehot' if onehot else 'rgb')

    def train_generator(self, config: str, seed: Optional[int] = None
                        ) -> str:
        """Train a generator in the work dir, or reuse its export: the
        shipped one (its key was checked; copied into the run folder) or
        one trained here from the same resolved config and seed (recorded
        in ``run_identity.json``)."""
        seed = self.args.seed if seed is None else seed
        export = self.export_dir(config, seed)
        name = osp.splitext(osp.basename(config))[0] + self.seed_suffix(seed)
        cfg = load_run_config(osp.join(self.root, config),
                              self.generator_options(config),
                              work_dir=self.run_dir(config, seed),
                              format_python_code=False)
        cfg.randomness = dict(seed=seed)
        record = osp.join(self.run_dir(config, seed), RUN_IDENTITY)
        identity = dict(config=config_digest(cfg))
        shipped = self.is_shipped(config, seed)
        if shipped and not osp.isfile(osp.join(export, 'unet',
                                               'config.json')):
            self.copy_shipped(config_name(config), export)
        if osp.isfile(osp.join(export, 'unet', 'config.json')):
            if not shipped:
                check_run_identity(record, identity, export)
            self.generators_found.append(name)
            return export
        cfg.experiment_name = f'demo_{name}_{self.stamp}'
        cfg.visualizer.name = f'visualizer_{cfg.experiment_name}'
        Runner.from_cfg(cfg).train()
        with atomic_open(record) as f:
            json.dump(identity, f, indent=2)
        return export

    def synthesis_engine(self):
        """The stage-3 engine over the demo's trained generators."""
        return SynthesisEngine(self.synthesis_cfg())

    def segmentation(self, seed: Optional[int] = None) -> dict:
        """Test metrics of the segmentors: one per alpha, random
        oversampling, and one per set variant (:meth:`set_variants`) and
        alpha > 0."""
        results = {}
        iters = self.s['seg_iters']
        sweep, oversample = (self.data.configs['sweep'],
                             self.data.configs['oversample'])
        sweep_dir = osp.join(self.work, 'sweep' + self.seed_suffix(seed))
        options = self.seg_options(sweep, iters, seed)
        path = osp.join(self.root, sweep)
        for alpha in self.args.alphas:
            run_dir = osp.join(sweep_dir, f'alpha_{alpha:g}')
            results[f'alpha = {alpha:g}'] = reuse_or_run(
                run_dir, run_alpha, path, alpha, run_dir, options,
                identity=alpha_run_identity(path, alpha, options))
        run_dir = osp.join(sweep_dir, 'oversample40')
        cfg = load_run_config(osp.join(self.root, oversample),
                              self.seg_options(oversample, iters, seed),
                              work_dir=run_dir, format_python_code=False)
        results['oversampling 40%'] = reuse_or_run(
            run_dir, train_and_test, cfg,
            f'demo_oversample40{self.seed_suffix(seed)}_{self.stamp}',
            identity=dict(config=config_digest(cfg)))
        for label, variant in self.set_variants().items():
            for alpha in [a for a in self.args.alphas if a > 0]:
                run_dir = osp.join(sweep_dir,
                                   f'alpha_{alpha:g}_{variant["suffix"]}')
                results[f'alpha = {alpha:g}, {label}'] = reuse_or_run(
                    run_dir, run_alpha, path, alpha, run_dir, options,
                    variant, identity=alpha_run_identity(
                        path, alpha, options, variant))
        return results

    def set_variants(self) -> dict:
        """The synthetic-set variants asked for: label ->
        :func:`set_variant` arguments. ``--weak-classes``,
        ``--seg-guidance`` and ``--class-filter`` are steered by the
        real-only (alpha = 0) segmentor of ``--seed``, ranked or trusted on
        val and train, never on the test split it is scored on;
        ``--share-guidance`` steers stage 1's sampling toward the target
        shares; ``--set-mask-model`` draws the masks with another stage-1
        model of the work dir (its ``--seed`` run)."""
        real_only = osp.abspath(osp.join(self.work, 'sweep', 'alpha_0'))
        variants = {}
        name = self.args.set_mask_model
        if name:
            config = self.data.configs[name]
            slug = re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')
            variants[f'masks of {name}'] = dict(
                suffix=f'masks_{slug}',
                options=dict(mask_generator=dict(
                    config=config, weights=self.export_dir(config))))
        if self.args.weak_classes:
            variants['weak classes'] = weak_class_variant(
                osp.join(real_only, VAL_METRICS))
        if self.args.share_guidance:
            scale = self.args.share_guidance
            top = self.args.share_guidance_max_timestep
            variants[f'share guidance {scale:g}, t <= {top}'] = dict(
                suffix=f'share_guidance_{scale:g}_t{top}',
                options=dict(mask_sampling=dict(prop_guidance=dict(
                    scale=scale, max_timestep=top))))
        if not (self.args.seg_guidance or self.args.class_filter):
            return variants
        try:
            reference = finished_run(real_only, self.data.configs['sweep'])
        except FileNotFoundError as error:
            raise FileNotFoundError(
                f'{error}. --seg-guidance and --class-filter use the '
                'real-only segmentor of --seed: keep 0 in --alphas and let '
                'its run finish') from error
        if self.args.seg_guidance:
            scale = self.args.seg_guidance
            low, high = self.args.seg_guidance_timesteps
            variants[f'segmentor guidance {scale:g}, t {low}-{high}'] = dict(
                suffix=f'seg_guidance_{scale:g}_t{low}-{high}',
                options=dict(seg_guidance=dict(reference, scale=scale,
                                               timesteps=[low, high])))
        source = source_dataset_defaults(self.data.source_dataset)
        for split in self.args.class_filter or ():
            variants['class-relative filter' + (
                f', {split} means' if split != 'train' else '')] = \
                class_filter_variant(reference, self.data_root,
                                     source['reduce_zero_label'], split)
        return variants
