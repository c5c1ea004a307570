"""Build (or complete) a synthetic set with the trained generators.

Examples::

    python tools/synthesize.py configs/synth/potsdam.py --num 2000
    python tools/synthesize.py configs/synth/potsdam.py --num 2000 \
        --out data/potsdam_syn --batch-size 16
    python tools/synthesize.py configs/synth/potsdam.py --num 2000 \
        --out data/potsdam_syn_real_masks --masks real
    bash tools/dist_synthesize.sh configs/synth/potsdam.py 4 --num 2000

A killed run resumes when started again with the same --out.
"""
import argparse
import os

import dldm_mmseg  # noqa: F401
from mmengine.config import DictAction
from mmengine.dist import get_dist_info, init_dist

from dldm_mmseg.synthesis.engine import SynthesisEngine
from dldm_mmseg.utils.config import load_run_config
from dldm_mmseg.utils.io import check_writable


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='synth config (configs/synth/*.py)')
    parser.add_argument('--num', type=int, required=True,
                        help='number of image/mask pairs')
    parser.add_argument('--out', help='output folder (default: the '
                        'config\'s out_dir)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace samples of another configuration')
    parser.add_argument('--batch-size', type=int,
                        help='samples per network batch (default: the '
                        'config\'s synthesis.batch_size)')
    parser.add_argument('--shares',
                        help='fix some classes\' target shares in percent, '
                        'e.g. "car=5,clutter=8" (the others are drawn from '
                        'the real patches and rescaled to fill the rest); '
                        'sets synthesis.shares.user_shares')
    parser.add_argument('--masks', choices=['generated', 'real'],
                        help='where the masks come from: stage 1 '
                        '(generated, the default) or the real patches the '
                        'target shares are drawn from, painted anew by '
                        'stage 2 (real); sets synthesis.masks')
    parser.add_argument('--device', help='torch device (default: cuda if '
                        'available, else cpu; one GPU per process under '
                        '--launcher)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value '
                        '(e.g. synthesis.mask_sampling.steps=30)')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher (tools/dist_synthesize.sh '
                        'uses pytorch)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if args.num <= 0:
        parser.error(f'--num must be > 0, got {args.num}')
    if args.batch_size is not None and args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = load_run_config(args.config, args.cfg_options)
    if args.launcher != 'none':
        init_dist(args.launcher, **cfg.get('env_cfg', {}).get(
            'dist_cfg', {}))
    rank, world_size = get_dist_info()
    synthesis = cfg.synthesis.to_dict()
    if args.batch_size is not None:
        synthesis['batch_size'] = args.batch_size
    if args.masks is not None:
        synthesis['masks'] = args.masks
    if args.shares is not None:
        from dldm_mmseg.utils.source_dataset import \
            source_dataset_defaults
        from dldm_mmseg.utils.prompts import parse_share_spec
        classes = source_dataset_defaults(synthesis.get(
            'source_dataset'))['metainfo']['classes']
        try:
            user = parse_share_spec(args.shares, classes)
        except ValueError as e:
            raise SystemExit(f'--shares: {e}') from e
        synthesis['shares'] = dict(synthesis.get('shares') or
                                   dict(mode='real'), user_shares=user)
    out_dir = args.out or cfg.get('out_dir')
    if not out_dir:
        raise ValueError('no output folder: pass --out or set out_dir in '
                         'the config')
    check_writable(out_dir)  # before the generators load (minutes on SD)
    engine = SynthesisEngine(synthesis, device=args.device)
    result = engine.run(args.num, out_dir, overwrite=args.overwrite,
                        rank=rank, world_size=world_size)
    if rank == 0:
        rate = result['generated'] / result['seconds'] \
            if result['seconds'] else 0
        print(f'\n{out_dir}: {args.num} pairs, complete={result["complete"]}'
              f' ({result["generated"]} made here, {rate:.2f} pairs/s)')
    return result


if __name__ == '__main__':
    main()
