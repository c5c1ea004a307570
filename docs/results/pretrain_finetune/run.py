"""Synthetic pre-training, then real fine-tuning, against real only and a
real-then-real control, over a finished demo work dir (``rule.md``).

Every run goes to ``<out>/seed<N>/<run>`` and is skipped when finished
(its ``metrics.json`` is there and was made by the same settings), so a
killed run resumes. Writes ``<name>.json`` (mean, std and every seed,
val and test) beside this script, or in ``--out-dir``::

    DLDM_DEMO_DIR=$(realpath work_dirs/vegas_demo) \
    python docs/results/pretrain_finetune/run.py \
        configs/demo/vegas/deeplabv3plus_vegas_syn40.py \
        --out work_dirs/vegas_demo/pretrain_finetune --name vegas \
        --rare road
"""
import copy
import os.path as osp
import sys

from dldm_mmseg.experiments.alpha_sweep import (alpha_run_identity,
                                                config_digest, reuse_or_run,
                                                run_alpha, train_and_test)
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.config import load_run_config
from dldm_mmseg.utils.hashing import cached_file_sha256

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import harness_parser, write_summary  # noqa: E402

RUNS = ('real', 'syn_only', 'syn_then_real', 'real_then_real')


def synthetic_only(cfg):
    """``cfg`` (a loaded mixed-ratio config) training on its synthetic set
    alone, with mmengine's endless sampler."""
    cfg = copy.deepcopy(cfg)
    loader = cfg.train_dataloader
    synthetic = [d for d in loader.dataset.get('datasets', [])
                 if d.get('type') == 'DiffusionSynthDataset']
    if len(synthetic) != 1:
        raise ValueError(f'{cfg.filename}: train_dataloader needs one '
                         'DiffusionSynthDataset in a ConcatDataset, found '
                         f'{len(synthetic)}')
    loader.dataset = synthetic[0]
    loader.sampler = dict(type='InfiniteSampler', shuffle=True)
    return cfg


def run_syn_only(config, options, work_dir):
    return train_and_test(synthetic_only(load_run_config(
        config, options, work_dir=work_dir, format_python_code=False)))


def checkpoint_of(run_dir, iters):
    path = osp.join(run_dir, f'iter_{iters}.pth')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing: its run must finish '
                                f'first (delete {run_dir} to rerun it)')
    return osp.abspath(path)


def run_seed(config, out, seed):
    base = {'randomness.seed': seed}
    iters = load_run_config(config, base).train_cfg.max_iters
    folder = osp.join(out, f'seed{seed}')
    real_dir, syn_dir = osp.join(folder, 'real'), osp.join(folder, 'syn_only')
    reuse_or_run(real_dir, run_alpha, config, 0.0, real_dir, base,
                 identity=alpha_run_identity(config, 0.0, base))
    syn_identity = dict(config=config_digest(synthetic_only(
        load_run_config(config, base, format_python_code=False))),
        run='syn_only')
    reuse_or_run(syn_dir, run_syn_only, config, base, syn_dir,
                 identity=syn_identity)
    for name, start in (('syn_then_real', syn_dir),
                        ('real_then_real', real_dir)):
        options = dict(base, load_from=checkpoint_of(start, iters))
        run_dir = osp.join(folder, name)
        # the weights it starts from by content: a first phase run again
        # makes its fine-tune run again
        identity = dict(alpha_run_identity(config, 0.0, options),
                        start='sha256:' + cached_file_sha256(
                            options['load_from']))
        reuse_or_run(run_dir, run_alpha, config, 0.0, run_dir, options,
                     identity=identity)


def main(argv=None):
    parser = harness_parser(__doc__.split('\n\n')[0])
    parser.add_argument('config', help="a demo's *_syn40.py config")
    args = parser.parse_args(argv)
    speed_up_configs()
    for seed in args.seeds:
        run_seed(args.config, args.out, seed)
    write_summary(args.out, RUNS, ['mIoU', f'IoU.{args.rare}'],
                  osp.join(args.out_dir or HERE, f'{args.name}.json'))


if __name__ == '__main__':
    main()
