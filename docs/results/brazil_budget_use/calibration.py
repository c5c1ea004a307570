"""``rule.md``'s fourth addendum: the finished checkpoint of every arm,
seeds 0-4, scored on val and test with per-class logit biases
(``BiasedEncoderDecoder``): none, the training stream's prior shift
(``+ prior``, one bias per arm from its seed-0 stream), and the biases
fitted on the run's own val pixels (``+ val bias``). A diagnostic added
after the addendum's results were read, in no pick: the biases fitted on
test itself (``test oracle``), how far each arm's test score is from its
best threshold. Each run's numbers go to ``<run>/calibration`` (reused
when done from the same checkpoint and prior). Writes
``calibration.json`` and ``calibration.md`` here, or in ``--out-dir``::

    python docs/results/brazil_budget_use/calibration.py \\
        --budget work_dirs/bbud --work work_dirs/bbud_app
"""
import json
import os
import os.path as osp
import sys

import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from dldm_mmseg.evaluation.logit_calibration import (
    collect_logits, confusion_counts, fit_logit_bias, load_segmentor,
    stream_prior)
from dldm_mmseg.experiments.alpha_sweep import (VAL_METRICS, finished_run,
                                                reuse_or_run)
from dldm_mmseg.utils.compat import speed_up_configs
from dldm_mmseg.utils.hashing import cached_file_sha256
from dldm_mmseg.utils.io import atomic_open

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.join(HERE, '..', 'synthetic_gain'))
from aggregate import issue_bar, load, rare_keys, summarise  # noqa
from real_bn import arms  # noqa: E402
from budget_use import cell, mean, parse_args  # noqa: E402

RARE = 'building'
KEYS = rare_keys(RARE) + ('IoU.background',)
NOT_SYNTHETIC = ('alpha_0', 'oversample40', 'pretrain_real',
                 'pretrain_real_then_real')
STREAM_BATCHES = 200
VARIANTS = ('', ' + prior', ' + val bias', ' + test oracle')


def scores(logits, labels, bias, classes):
    """mIoU, each class's IoU and :data:`RARE`'s precision and recall
    (percent) of ``argmax(logits + bias)``, as mmseg's ``IoUMetric``
    reports them (both classes are in every split here)."""
    tp, predicted, gt = confusion_counts(logits, labels, bias)
    iou = tp / np.maximum(gt + predicted - tp, 1)
    rare = classes.index(RARE)
    return {'mIoU': float(iou.mean() * 100),
            **{f'IoU.{c}': float(iou[k] * 100)
               for k, c in enumerate(classes)},
            f'Precision.{RARE}': float(tp[rare] / max(predicted[rare], 1)
                                       * 100),
            f'Recall.{RARE}': float(tp[rare] / max(gt[rare], 1) * 100)}


def evaluate(run_dir, prior_bias):
    """Val and test of the run's last checkpoint under each variant."""
    run = finished_run(run_dir)
    cfg = Config.fromfile(run['config'])
    model = load_segmentor(cfg, run['checkpoint'])
    data = {split: collect_logits(model, Runner.build_dataloader(
        cfg[f'{split}_dataloader']), show_progress=False)
        for split in ('val', 'test')}
    classes = list(cfg.val_dataloader.dataset.metainfo['classes'])
    stored = load(osp.join(run_dir, VAL_METRICS))['mIoU']
    raw = scores(*data['val'], np.zeros(2), classes)['mIoU']
    if abs(raw - stored) > 0.02:
        raise RuntimeError(f'{run_dir}: val mIoU from the logits {raw:.3f}'
                           f' is not the run\'s own {stored:.3f}')
    fitted = {split: fit_logit_bias(*data[split])['bias']
              for split in ('val', 'test')}
    biases = dict(zip(VARIANTS, (np.zeros(2), prior_bias, fitted['val'],
                                 fitted['test'])))
    return dict(val_bias=fitted['val'], test_bias=fitted['test'],
                prior_bias=list(prior_bias), **{
                    variant: {split: scores(*data[split], bias, classes)
                              for split in ('val', 'test')}
                    for variant, bias in biases.items()})


def measure(budget, work, seeds):
    """Every arm's priors, fitted biases and summaries."""
    runs, priors, fitted = {}, {}, {}
    real = None  # the budget's real training tiles, from the first arm
    for arm, folder in arms(budget, work).items():
        # the synthetic sets' configs name generators in the run's work dir
        os.environ['DLDM_DEMO_DIR'] = osp.abspath(
            budget if folder.startswith(osp.join(budget, '')) else work)
        prior = stream_prior(Config.fromfile(finished_run(osp.abspath(
            folder.format(seed=seeds[0])))['config']), STREAM_BATCHES,
            real_counts=real)
        real = prior['real_counts']
        priors[arm] = prior
        per_seed = {variant: {} for variant in VARIANTS}
        fitted[arm] = dict(val=[], test=[])
        for seed in seeds:
            run_dir = osp.abspath(folder.format(seed=seed))
            identity = dict(rule='calibration', prior_bias=prior['bias'],
                            stream_batches=STREAM_BATCHES, oracle=True,
                            checkpoint='sha256:' + cached_file_sha256(
                                finished_run(run_dir)['checkpoint']))
            result = reuse_or_run(osp.join(run_dir, 'calibration'), evaluate,
                                  run_dir, prior['bias'], identity=identity)
            for split in ('val', 'test'):
                fitted[arm][split].append(result[f'{split}_bias'])
            for variant in VARIANTS:
                per_seed[variant][seed] = result[variant]
        for variant in VARIANTS:
            runs[arm + variant] = summarise(per_seed[variant], KEYS)
        print(arm, '  '.join(
            f'{variant or "raw"} val {runs[arm + variant]["val"]["mIoU"]["mean"]:.2f}'  # noqa: E501
            f' test {runs[arm + variant]["test"]["mIoU"]["mean"]:.2f}'
            for variant in VARIANTS), file=sys.stderr, flush=True)
    return dict(seeds=seeds, stream_batches=STREAM_BATCHES, priors=priors,
                fitted_biases=fitted, runs=runs)


def gap(bias):
    """The building bias minus the background one (what decides)."""
    return bias[1] - bias[0]


def report(result):
    """The markdown of ``calibration.md``: the tables, the picks and the
    addendum's predictions."""
    runs, arm_names = result['runs'], list(result['priors'])
    shown = [a for a in arm_names if a != 'pretrain_real']  # = alpha_0
    lines = ['# Logit biases on every arm (rule.md, addendum 4)', '',
             f'Seeds {result["seeds"]}, mean ± std. `prior`: the stream\'s '
             'class shares corrected to the real tiles\'; `val bias`: '
             'fitted on val; `test oracle`: fitted on test itself, a '
             'diagnostic in no pick.', '',
             '| arm | val | val + prior | val + val bias | test | '
             'test + prior | test + val bias | test oracle |',
             '| --- | --- | --- | --- | --- | --- | --- | --- |']
    for arm in shown:
        lines.append(f'| {arm} | ' + ' | '.join(
            cell(runs, arm + variant, split)
            for split, variants in (('val', VARIANTS[:3]),
                                    ('test', VARIANTS))
            for variant in variants) + ' |')
    lines += ['', 'Building bias minus background bias (mean over seeds), '
              'and the building share of each arm\'s training stream '
              f'({result["stream_batches"]} batches; the real tiles hold '
              f'{share(result["priors"]["alpha_0"]["real_counts"]):.1%}):',
              '', '| arm | stream building share | prior | val bias | '
              'test oracle | test building precision / recall: raw, '
              '+ val bias |', '| --- | --- | --- | --- | --- | --- |']
    for arm in shown:
        prior = result['priors'][arm]
        fitted = result['fitted_biases'][arm]
        pr = ', '.join(
            f'{mean(runs, arm + v, "test", "Precision.building"):.1f} / '
            f'{mean(runs, arm + v, "test", "Recall.building"):.1f}'
            for v in ('', ' + val bias'))
        lines.append(
            f'| {arm} | {share(prior["stream_counts"]):.1%} | '
            f'{gap(prior["bias"]):+.2f} | '
            f'{np.mean([gap(b) for b in fitted["val"]]):+.2f} | '
            f'{np.mean([gap(b) for b in fitted["test"]]):+.2f} | {pr} |')
    lines += [''] + picks(runs, shown) + [''] + predictions(result, shown)
    return '\n'.join(lines) + '\n'


def share(counts):
    return counts[1] / sum(counts)


def picks(runs, shown):
    """The val pick among the raw and ``+ prior`` arms, the one among the
    ``+ val bias`` arms, and the bar for the latter."""
    plain = max((a + v for a in shown for v in VARIANTS[:2]),
                key=lambda name: mean(runs, name, 'val'))
    fitted = max((a + VARIANTS[2] for a in shown),
                 key=lambda name: mean(runs, name, 'val'))
    bases = [b + VARIANTS[2] for b in ('alpha_0', 'oversample40')]
    synthetic = fitted[:-len(VARIANTS[2])] not in NOT_SYNTHETIC
    bar = issue_bar(runs, fitted, bases, ['building', 'background'])
    met = synthetic and bar['test_bar']
    test = ', '.join(f'{m["margin"]:+.2f} over `{b}` (larger std '
                     f'{m["larger_std"]:.2f})'
                     for b, m in bar['test_mIoU'].items())
    return [f'- Val pick among the raw and `+ prior` arms: `{plain}` '
            f'(val {cell(runs, plain, "val")}, test '
            f'{cell(runs, plain, "test")}).',
            f'- Val pick among the `+ val bias` arms: `{fitted}` (val '
            f'{cell(runs, fitted, "val")}, test {cell(runs, fitted, "test")})'
            f'; test mIoU {test}; '
            f'{"" if synthetic else "it holds no synthetic data; "}the bar '
            '(a synthetic arm above both on val and test beyond the larger '
            'std, and on building and background IoU by 3 points): '
            f'**{"met" if met else "missed"}**.']


def predictions(result, shown):
    runs = result['runs']
    synthetic = [a for a in shown if a not in NOT_SYNTHETIC]
    one = all(abs(gap(result['priors'][a]['bias'])) < 0.3 and abs(
        mean(runs, a + VARIANTS[1], 'val') - mean(runs, a, 'val')) < 0.5
        for a in shown if a != 'pretrain_syn_only')
    lift = {a: mean(runs, a + VARIANTS[2], 'val') - mean(runs, a, 'val')
            for a in shown}
    two = all(lift[a] > lift['alpha_0'] for a in synthetic)
    before = mean(runs, 'alpha_0', 'test') - mean(runs, 'alpha_0.4', 'test')
    after = mean(runs, 'alpha_0' + VARIANTS[2], 'test') - \
        mean(runs, 'alpha_0.4' + VARIANTS[2], 'test')
    three = after < before / 2
    best = max((a + VARIANTS[2] for a in shown),
               key=lambda name: mean(runs, name, 'test'))
    four = best == 'alpha_0' + VARIANTS[2]
    moved = mean(runs, 'alpha_0' + VARIANTS[2], 'test') - \
        mean(runs, 'alpha_0', 'test')
    five = abs(moved) < 1.0
    word = {True: 'held', False: '**missed**'}
    return ['Predictions (rule.md, addendum 4):', '',
            f'1. prior biases within 0.3 and `+ prior` within 0.5 on val '
            f'(all but synthetic only): {word[one]}.',
            f'2. the val bias lifts every synthetic arm\'s val more than '
            f'real only\'s (+{lift["alpha_0"]:.2f}; smallest synthetic '
            f'lift {min(lift[a] for a in synthetic):+.2f}): {word[two]}.',
            f'3. test gap alpha 0.4 (unfiltered) to real only, with val '
            f'bias, under half of {before:.2f}: {after:.2f}, {word[three]}.',
            f'4. real only + val bias the best val-bias arm on test (best: '
            f'`{best}`), bar missed: {word[four]}.',
            f'5. the val bias moves real only\'s test by less than 1.0 '
            f'({moved:+.2f}): {word[five]}.']


def main():
    args = parse_args(__doc__)
    speed_up_configs()
    init_default_scope('mmseg')
    result = measure(args.budget, args.work, args.seeds)
    with atomic_open(osp.join(args.out_dir, 'calibration.json')) as f:
        json.dump(result, f, indent=1)
    with atomic_open(osp.join(args.out_dir, 'calibration.md')) as f:
        f.write(report(result))


if __name__ == '__main__':
    main()
