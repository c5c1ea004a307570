"""``rule.md``'s arms: alpha 0.4 over a set that stage 2 paints for the
real train masks (``synthesis.masks='real'``), seeds 0-2, 1500
iterations, in each work dir given as ``label=folder`` (the 90-tile
budget, the full data's kl6 work dir); with ``--filter label=run``
for each, the addendum's arm too: that set with the class-relative
filter (val means) judged by the real-only run ``run``. Runs go to
``<work>/segmentors/seed<N>/alpha_0.4_real_masks[_filter_val]`` beside
the recorded real only / oversampling / alpha 0.4 runs and are reused
when finished with the same settings; the sets are made in
``<work>/data/brazil_syn_real_masks[_class_filter_val]``. Writes
``real_masks.json`` here (or in ``--out-dir``)::

    python docs/results/brazil_real_masks/run.py \\
        budget=work_dirs/bbud full=work_dirs/bkl6 \\
        --filter budget=work_dirs/bbud/segmentors/seed0/real \\
        full=work_dirs/brz/sweep/alpha_0
"""
import argparse
import os
import os.path as osp
import sys

from dldm_mmseg.experiments.alpha_sweep import (alpha_run_identity,
                                                class_filter_variant,
                                                finished_run, reuse_or_run,
                                                run_alpha, schedule_options)
from dldm_mmseg.experiments.analysis import filtered_shares
from dldm_mmseg.utils.compat import speed_up_configs

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import rare_keys, summarise_runs, write_verdict  # noqa: E402

CONFIG = 'configs/demo/brazil/deeplabv3plus_brazil_syn40.py'
ITERS = 1500
NAME = 'alpha_0.4_real_masks'
VARIANT = dict(suffix='real_masks', options=dict(masks='real'))
FILTERED = NAME + '_filter_val'
RUNS = ('real', 'oversample40', 'alpha_0.4', NAME)


def filtered_variant(work: str, reference: str) -> dict:
    """The real-mask set with the class-relative filter (val means) of
    the real-only run ``reference``."""
    real_root = osp.abspath(osp.join(work, 'data', 'brazil_buildings'))
    options = class_filter_variant(finished_run(reference, CONFIG),
                                   real_root, True, 'val')['options']
    return dict(suffix='real_masks_class_filter_val',
                options=dict(options, masks='real'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('works', nargs='+', metavar='LABEL=FOLDER',
                        help='a demo work dir with its stage 2 and its '
                        'recorded segmentors')
    parser.add_argument('--filter', nargs='+', default=[],
                        metavar='LABEL=RUN', help="the filter's real-only "
                        'segmentor run for each work dir (the addendum)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--out-dir', default=HERE)
    args = parser.parse_args()
    speed_up_configs()
    works = dict(w.split('=', 1) for w in args.works)
    references = dict(r.split('=', 1) for r in args.filter)
    keys = rare_keys('building')
    summary = dict(iters=ITERS)
    for label, work in works.items():
        os.environ['DLDM_DEMO_DIR'] = osp.abspath(work)
        arms = {NAME: VARIANT}
        if label in references:
            arms[FILTERED] = filtered_variant(work, references[label])
        for seed in args.seeds:
            options = schedule_options(ITERS, seed)
            for name, variant in arms.items():
                run_dir = osp.join(work, 'segmentors', f'seed{seed}', name)
                reuse_or_run(run_dir, run_alpha, CONFIG, 0.4, run_dir,
                             options, variant, identity=alpha_run_identity(
                                 CONFIG, 0.4, options, variant))
        summary[label] = summarise_runs(osp.join(work, 'segmentors'),
                                        list(RUNS) + list(arms)[1:],
                                        args.seeds, keys)
        if FILTERED in arms:  # percent of each class's pixels ignored
            summary[label]['filter_ignored'] = {
                k: round(v, 2) for k, v in filtered_shares(osp.join(
                    work, 'data', 'brazil_syn_' + arms[FILTERED]['suffix']),
                    ('background', 'building')).items()}
    write_verdict(osp.join(args.out_dir, 'real_masks.json'), summary)


if __name__ == '__main__':
    main()
