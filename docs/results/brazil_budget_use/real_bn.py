"""``rule.md``'s second addendum: the finished checkpoint of every arm,
seeds 0-4, with its BatchNorm statistics re-estimated on the budget's 90
real training tiles as ``RealBatchNormHook`` does when training ends,
then validated and tested. Each goes to ``<run>/real_bn`` (reused when
done from the same checkpoint). Writes ``real_bn.json`` (every arm,
val and test, mean ± std and per seed) here, or in ``--out-dir``::

    python docs/results/brazil_budget_use/real_bn.py \\
        --budget work_dirs/bbud --work work_dirs/bbud_app
"""
import hashlib
import json
import os
import os.path as osp
import sys

from mmengine.config import Config
from mmengine.runner import Runner

from dldm_mmseg.datasets.samplers import real_loader
from dldm_mmseg.engine.hooks.real_batchnorm_hook import recalibrate_batchnorm
from dldm_mmseg.experiments.alpha_sweep import (VAL_METRICS, finished_run,
                                                reuse_or_run)
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.config import load_run_config
from dldm_mmseg.utils.hashing import cached_file_sha256
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import load, rare_keys, summarise, write_verdict  # noqa
from sweep import ERODED, FILTERED, UNFILTERED, run_name  # noqa: E402
from budget_use import parse_args  # noqa: E402

CONFIG = 'configs/demo/brazil/deeplabv3plus_brazil_syn40.py'
PRETRAIN = ('real', 'syn_only', 'syn_then_real', 'real_then_real')


def arms(budget, work):
    """``{arm: run folder with '{seed}'}`` of every arm of the rule."""
    runs = {'alpha_0': osp.join(budget, 'segmentors', 'seed{seed}', 'real'),
            'oversample40': osp.join(budget, 'segmentors', 'seed{seed}',
                                     'oversample40')}
    names = [run_name(a, True) for a in FILTERED] + [
        run_name(a, False) for a in UNFILTERED] + list(ERODED)
    runs.update({name: osp.join(work, 'segmentors', 'seed{seed}', name)
                 for name in names})
    runs.update({f'pretrain_{name}': osp.join(
        work, 'pretrain_finetune', 'seed{seed}', name) for name in PRETRAIN})
    return runs


def evaluate(run_dir, real_cfg, out):
    """Val and test of ``run_dir``'s last checkpoint after
    :func:`recalibrate_batchnorm` on ``real_cfg``'s loader; the val
    metrics go to ``out``, the test metrics are returned."""
    run = finished_run(run_dir)
    cfg = Config.fromfile(run['config'])
    cfg.work_dir, cfg.load_from, cfg.resume = out, run['checkpoint'], False
    name = 'real_bn_' + hashlib.sha1(out.encode()).hexdigest()[:8]
    cfg.experiment_name = name
    cfg.visualizer.name = f'visualizer_{name}'
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()  # val() and test() then keep these weights
    recalibrate_batchnorm(runner.model, real_loader(
        Runner.build_dataloader(real_cfg)))
    val = {k: float(v) for k, v in runner.val().items()}
    with atomic_open(osp.join(out, VAL_METRICS)) as f:
        json.dump(val, f, indent=2)
    return {k: float(v) for k, v in runner.test().items()}


def main():
    args = parse_args(__doc__)
    speed_up_configs()
    os.environ['DLDM_DEMO_DIR'] = osp.abspath(args.work)
    train = load_run_config(CONFIG, format_python_code=False)
    real_cfg = dict(train.train_dataloader.to_dict(),
                    dataset=train.train_dataloader.dataset.datasets[0],
                    sampler=dict(type='DefaultSampler', shuffle=False))
    real_cfg.pop('persistent_workers', None)
    keys = list(rare_keys('building'))
    runs = {}
    for arm, folder in arms(args.budget, args.work).items():
        per_seed = {}
        for seed in args.seeds:
            run_dir = osp.abspath(folder.format(seed=seed))
            out = osp.join(run_dir, 'real_bn')
            identity = dict(rule='real_bn', real=real_cfg['dataset'],
                            order='shuffled, seed 0',
                            checkpoint='sha256:' + cached_file_sha256(
                                finished_run(run_dir)['checkpoint']))
            test = reuse_or_run(out, evaluate, run_dir, real_cfg, out,
                                identity=identity)
            per_seed[seed] = dict(test=test, val=load(osp.join(
                out, VAL_METRICS)))
        runs[arm] = summarise(per_seed, keys)
        print(f'{arm} + real BN', '  '.join(
            f'{split} {runs[arm][split]["mIoU"]["mean"]:.2f} ± '
            f'{runs[arm][split]["mIoU"]["std"]:.2f}'
            for split in ('val', 'test')), flush=True)
    write_verdict(osp.join(args.out_dir, 'real_bn.json'),
                  dict(seeds=args.seeds, runs=runs))


if __name__ == '__main__':
    main()
