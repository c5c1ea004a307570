"""The demo's seven steps in order."""
import time
from contextlib import contextmanager

from dldm_mmseg.experiments.demo import measures
from dldm_mmseg.experiments.demo.report import (stage1_summary,
                                                write_report,
                                                write_stage1_report)
from dldm_mmseg.experiments.demo.settings import WORK_DIR_VARIABLE
from dldm_mmseg.experiments.demo.steps import Demo
from dldm_mmseg.experiments.demo.weights import make_weights
from dldm_mmseg.experiments.report import mean_and_std
from dldm_mmseg.utils.config import environment_variable


def run_demo(args, root: str) -> dict:
    """Run the demo (``tools/demo.py``'s arguments ``args``, configs under
    ``root``): every step reuses what its work dir already holds. The demo
    configs read the work dir from ``$DLDM_DEMO_DIR``, set for the run.

    Returns:
        dict: ``weights`` (the folder) with ``--make-weights``; with
        ``--stage1-only``, stage 1's test and val mCPE of each seed
        (``mask_cpe_per_seed``, ``mask_cpe_val_per_seed``) and ``report``
        (``stage1.md``); else the test ``results`` of the segmentors,
        stage 1's ``mask_cpe``, ``fid`` and ``consistency``.
    """
    with environment_variable(WORK_DIR_VARIABLE, args.work_dir):
        return _run_demo(args, root)


@contextmanager
def finished_demo(args, root: str):
    """A :class:`Demo` over the work dir of a finished (or killed) run with
    ``tools/demo.py``'s arguments ``args``, for scripts that add runs to it
    (more seeds, more variants) with the demo's own steps: the work dir
    must hold these settings, its data is kept as prepared, and
    ``$DLDM_DEMO_DIR`` points at it while the block runs."""
    with environment_variable(WORK_DIR_VARIABLE, args.work_dir):
        demo = Demo(args, root)
        demo.check_settings()
        demo.dataset()  # kept as prepared; sets the split sizes
        yield demo


def _run_demo(args, root: str) -> dict:
    demo = Demo(args, root)
    demo.check_settings()
    start = time.time()
    print(f'[1/7] dataset {args.dataset} + captions -> {demo.data_root}')
    demo.timed('dataset + captions', demo.dataset)
    print('      train / val / test scenes: {train} / {val} / {test}'.format(
        **demo.counts))
    shipped = f' (pretrained: {demo.shipped})' if demo.shipped else ''
    print(f'[2/7] the small preset\'s VAEs fitted to the scenes\' masks'
          f'{"" if args.stage1_only else " and images"}{shipped}')
    demo.timed('VAE fit', demo.fit_vae)
    for seed in demo.seeds:
        for name, config in demo.mask_configs.items():
            reused = demo.is_shipped(config, seed)
            print(f'[3/7] stage 1, mask generator {name}, seed {seed}: '
                  f'{config}{shipped if reused else ""}')
            demo.timed(f'stage 1 ({name})', demo.train_generator, config,
                       seed)
    if args.stage1_only:
        return _stage1_only(demo, start)
    print(f'[4/7] stage 2, image generator: {demo.image_config}{shipped}')
    demo.timed('stage 2', demo.train_generator, demo.image_config)
    if args.make_weights:
        out = make_weights(demo)
        print(f'\npretrained demo generators: {out} '
              f'({time.time() - start:.0f} s)')
        return dict(weights=out)
    print('[5/7] mCPE of the mask generators; synthesis')
    cpe_runs, val_runs = _stage1_mcpe(demo)
    engine = demo.synthesis_engine()
    demo.timed('synthesis', engine.run, demo.num_syn, demo.syn_root)
    del engine
    print('[6/7] segmentation: alpha sweep and oversampling')
    seg_runs = [demo.timed('segmentation', demo.segmentation, seed)
                for seed in demo.seeds]
    print('[7/7] evaluation and report')
    stage1 = stage1_summary(demo, cpe_runs, val_runs)
    cpe, baselines, val_cpe = (stage1[k] for k in ('cpe', 'baselines',
                                                   'val_cpe'))
    if len(demo.seeds) == 1:
        results, spread = seg_runs[0], None
    else:
        results, seg_std = mean_and_std(seg_runs)
        spread = dict(segmentation=seg_std, mask_cpe=stage1['cpe_std'],
                      per_seed=dict(seeds=demo.seeds, segmentation=seg_runs,
                                    mask_cpe=cpe_runs, mask_cpe_val=val_runs))
    floor = demo.timed('mask VAE round trip', measures.mask_floor, demo)
    fid = demo.timed('FID', measures.fid, demo)
    consistency = demo.timed('consistency', measures.consistency, demo) \
        if 0 in demo.args.alphas else None
    report = demo.timed('report', write_report, demo, results, cpe, fid,
                        consistency, time.time() - start, spread, baselines,
                        floor, val_cpe)
    print(f'\nreport: {report} ({time.time() - start:.0f} s)')
    return dict(results=results, mask_cpe=cpe, fid=fid,
                consistency=consistency)


def _stage1_mcpe(demo):
    """Each seed's stage-1 mCPE on the test and on the val scenes."""
    return tuple([demo.timed('mCPE of stage 1', measures.mask_cpe, demo,
                             seed, split) for seed in demo.seeds]
                 for split in ('test', 'val'))


def _stage1_only(demo, start: float) -> dict:
    print('[5/7] mCPE of the mask generators (--stage1-only: no stage 2, '
          'synthesis or segmentation)')
    cpe_runs, val_runs = _stage1_mcpe(demo)
    floor = demo.timed('mask VAE round trip', measures.mask_floor, demo)
    print('[7/7] report')
    report = demo.timed('stage-1 report', write_stage1_report, demo,
                        cpe_runs, val_runs, floor, time.time() - start)
    print(f'\nreport: {report} ({time.time() - start:.0f} s)')
    return dict(mask_cpe_per_seed=cpe_runs, mask_cpe_val_per_seed=val_runs,
                report=report)
