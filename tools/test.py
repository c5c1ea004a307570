"""Evaluate a checkpoint on the val/test set, as mmseg's tools/test.py.

Example::

    python tools/test.py configs/deeplabv3plus_potsdam_syn40.py \
        work_dirs/deeplabv3plus_potsdam_syn40/iter_80000.pth
"""
import argparse
import os
import os.path as osp
import sys

import dldm_mmseg  # noqa: F401
from mmengine.config import DictAction
from mmengine.runner import Runner

from dldm_mmseg.utils.config import load_run_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where to save logs and metrics')
    parser.add_argument('--out', help='folder to write predicted label maps')
    parser.add_argument('--show-dir', help='folder to save painted images')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument('--allow-mismatch', action='store_true',
                        help='test even when the checkpoint does not fit '
                        'the model (weights that do not fit keep their '
                        'initialisation)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg = load_run_config(args.config, args.cfg_options, args.launcher,
                          args.work_dir)
    cfg.load_from = args.checkpoint
    # Weights come from the checkpoint: do not load backbone weights again.
    if isinstance(cfg.get('model'), dict) and 'pretrained' in cfg.model:
        cfg.model.pretrained = None
    if args.show_dir:
        visualization = cfg.default_hooks.visualization
        visualization.draw = True
        visualization.interval = 1
        cfg.visualizer.save_dir = args.show_dir
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.out is not None:
        evaluators = cfg.test_evaluator if isinstance(
            cfg.test_evaluator, list) else [cfg.test_evaluator]
        for evaluator in evaluators:
            if evaluator.get('type') == 'IoUMetric':
                evaluator['output_dir'] = args.out
                evaluator['keep_results'] = True
    runner = Runner.from_cfg(cfg)
    check_checkpoint_fits(runner.model, args.checkpoint, args.config,
                          args.allow_mismatch)
    return runner.test()


def check_checkpoint_fits(model, checkpoint: str, config: str,
                          allow_mismatch: bool = False) -> None:
    """Stop before testing when ``checkpoint`` does not fit ``model``
    (e.g. a decode head for another number of classes): mmengine would
    skip those weights with a warning deep in the log and score an
    untrained head."""
    from mmengine.runner.checkpoint import _load_checkpoint

    from dldm_mmseg.utils.checkpoint import checkpoint_mismatches
    loaded = _load_checkpoint(checkpoint, map_location='cpu')
    state = loaded.get('state_dict', loaded)
    problems = checkpoint_mismatches(getattr(model, 'module', model), state)
    if not problems:
        return
    summary = (f'checkpoint {checkpoint} does not fit the model of '
               f'{config}: {len(problems)} weight(s), e.g.\n  '
               + '\n  '.join(problems[:5]))
    if not allow_mismatch:
        raise SystemExit(summary + '\nTest with the config the checkpoint '
                         'was trained with (its work dir holds a copy), or '
                         'pass --allow-mismatch to test anyway')
    print('WARNING: ' + summary + '\nthose weights keep their '
          'initialisation (--allow-mismatch)', file=sys.stderr)


if __name__ == '__main__':
    main()
