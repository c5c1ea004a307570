"""Choosing a segmentor's training recipe on val: each recipe (a set of
cfg-options) trained at several seeds from one config, its val and test
metrics kept, the pick made on the mean val metric only."""
import json
import math
import os
import os.path as osp
import re
from typing import Dict, Iterable, List, Sequence, Tuple

from dldm_mmseg.experiments.alpha_sweep import (VAL_METRICS, config_digest,
                                                reuse_or_run, train_and_test)
from dldm_mmseg.utils.config import load_run_config
from dldm_mmseg.utils.io import atomic_open

# the heads of MMSeg's encoder-decoder segmentors that carry a loss
HEADS = ('decode_head', 'auxiliary_head')


def class_weights_from_shares(shares: Dict[str, float],
                              classes: Sequence[str]) -> List[float]:
    """Cross-entropy class weights: the square root of the largest class
    share over each class's share (1 for the most common class), rounded
    to 0.1.

    Raises:
        ValueError: When a class of ``classes`` has no positive share.
    """
    missing = [c for c in classes if not shares.get(c, 0) > 0]
    if missing:
        raise ValueError(f'class weights need a positive share of every '
                         f'class; {missing} have none in {shares}')
    largest = max(shares[c] for c in classes)
    return [round(math.sqrt(largest / shares[c]), 1) for c in classes]


def class_weight_options(weights: Sequence[float],
                         heads: Iterable[str] = HEADS) -> dict:
    """cfg-options setting the cross-entropy class weights of each head."""
    return {f'model.{head}.loss_decode.class_weight': [float(w)
                                                       for w in weights]
            for head in heads}


def recipe_slug(name: str) -> str:
    """A recipe's name as a folder name: spaces to underscores, the
    punctuation ``,().:`` dropped."""
    return re.sub(r'[,().:]', '', name.replace(' ', '_'))


def sweep_recipes(config: str, recipes: Dict[str, dict],
                  seeds: Sequence[int], work_dir: str,
                  out: str) -> Dict[str, Dict[str, dict]]:
    """Train and test ``config`` under each recipe (its cfg-options) and
    seed, in ``<work_dir>/<slug>_seed<seed>``.

    Finished runs are reused when their resolved config is the same
    (:func:`~dldm_mmseg.experiments.alpha_sweep.reuse_or_run`), so an
    interrupted sweep resumes. ``out`` (JSON) is rewritten atomically
    after each run: ``{recipe: {seed: {'val': ..., 'test': ...}}}``.
    """
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    results = {}
    for name, options in recipes.items():
        slug = recipe_slug(name)
        for seed in seeds:
            run_dir = osp.join(work_dir, f'{slug}_seed{seed}')
            cfg = load_run_config(
                config, dict(options, **{'randomness.seed': seed}),
                work_dir=run_dir, format_python_code=False)
            print(f'{name}, seed {seed} -> {run_dir}', flush=True)
            test = reuse_or_run(run_dir, train_and_test, cfg,
                                f'recipe_{slug}_seed{seed}',
                                identity=dict(config=config_digest(cfg)))
            with open(osp.join(run_dir, VAL_METRICS), encoding='utf-8') as f:
                val = json.load(f)
            results.setdefault(name, {})[str(seed)] = dict(val=val,
                                                           test=test)
            with atomic_open(out, 'w') as f:
                json.dump(results, f, indent=1)
    return results


def mean_val(results: Dict[str, Dict[str, dict]],
             metric: str = 'mIoU') -> Dict[str, float]:
    """Each recipe's val ``metric``, averaged over its seeds."""
    return {name: sum(r['val'][metric] for r in runs.values()) / len(runs)
            for name, runs in results.items()}


def pick_on_val(results: Dict[str, Dict[str, dict]],
                metric: str = 'mIoU') -> Tuple[str, float]:
    """The recipe with the highest mean val ``metric`` (test is not read),
    and that mean."""
    means = mean_val(results, metric)
    best = max(means, key=means.get)
    return best, means[best]


def val_summary(results: Dict[str, Dict[str, dict]],
                classes: Sequence[str] = ()) -> List[str]:
    """A line per recipe: its mean val mIoU and IoU of each of
    ``classes``, and its number of seeds."""
    iou = {c: mean_val(results, f'IoU.{c}') for c in classes}
    width = max(len(name) for name in results)
    return [f'{name:{width}s} val mIoU {miou:6.2f} ' + ''.join(
        f'{c} {iou[c][name]:6.2f} ' for c in classes)
        + f'({len(results[name])} seeds)'
        for name, miou in mean_val(results).items()]
