"""``rule.md``'s arms: alpha 0.4 over a set that stage 2 paints for the
real train masks (``synthesis.masks='real'``), seeds 0-2, 1500
iterations, in each work dir given as ``label=folder`` (the 90-tile
budget, the full data's kl6 work dir). Runs go to
``<work>/segmentors/seed<N>/alpha_0.4_real_masks`` beside the recorded
real only / oversampling / alpha 0.4 runs and are reused when finished
with the same settings; the set is made in
``<work>/data/brazil_syn_real_masks``. Writes ``real_masks.json`` here
(or in ``--out-dir``)::

    python docs/results/brazil_real_masks/run.py \\
        budget=work_dirs/bbud full=work_dirs/bkl6
"""
import argparse
import os
import os.path as osp
import sys

from dldm_mmseg.experiments.alpha_sweep import (alpha_run_identity,
                                                reuse_or_run, run_alpha,
                                                schedule_options)
from dldm_mmseg.utils.compat import speed_up_configs

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import rare_keys, summarise_runs, write_verdict  # noqa: E402

CONFIG = 'configs/demo/brazil/deeplabv3plus_brazil_syn40.py'
ITERS = 1500
NAME = 'alpha_0.4_real_masks'
VARIANT = dict(suffix='real_masks', options=dict(masks='real'))
RUNS = ('real', 'oversample40', 'alpha_0.4', NAME)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('works', nargs='+', metavar='LABEL=FOLDER',
                        help='a demo work dir with its stage 2 and its '
                        'recorded segmentors')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--out-dir', default=HERE)
    args = parser.parse_args()
    speed_up_configs()
    works = dict(w.split('=', 1) for w in args.works)
    keys = rare_keys('building')
    summary = dict(iters=ITERS)
    for label, work in works.items():
        os.environ['DLDM_DEMO_DIR'] = osp.abspath(work)
        for seed in args.seeds:
            options = schedule_options(ITERS, seed)
            run_dir = osp.join(work, 'segmentors', f'seed{seed}', NAME)
            reuse_or_run(run_dir, run_alpha, CONFIG, 0.4, run_dir, options,
                         VARIANT, identity=alpha_run_identity(
                             CONFIG, 0.4, options, VARIANT))
        summary[label] = summarise_runs(osp.join(work, 'segmentors'),
                                        list(RUNS), args.seeds, keys)
    write_verdict(osp.join(args.out_dir, 'real_masks.json'), summary)


if __name__ == '__main__':
    main()
