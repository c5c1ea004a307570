"""What a stage-1 mCPE must beat: the errors of two generators that ignore
their prompt.

* **prompt-blind**: every mask drawn at the mean train shares, whatever the
  prompt asks;
* **real mask**: a real train mask picked at random for each prompt (its
  expected error: the mean over all train masks, so no draw's luck).

A stage-1 model whose mCPE on held-out prompts is not below both has not
learnt to follow the shares, however low its number looks.
"""
from typing import Dict, Sequence

import numpy as np

from dldm_mmseg.datasets.captioning import load_captions
from dldm_mmseg.utils.label_stats import class_proportion_error


def share_baselines(train_shares: np.ndarray, target_shares: np.ndarray,
                    class_names: Sequence[str]) -> Dict[str, Dict]:
    """mCPE and per-class CPE of both prompt-ignoring baselines.

    Args:
        train_shares (np.ndarray): ``N x C`` shares of the real train masks.
        target_shares (np.ndarray): ``M x C`` shares the held-out prompts
            ask for.
        class_names (Sequence[str]): The ``C`` class names.

    Returns:
        dict: ``prompt_blind`` and ``real_mask``, each with ``mCPE`` and
        ``CPE`` (class name -> percent), rounded to 3 decimals as the
        generators' ``ClassProportionMetric`` reports them.
    """
    train = np.asarray(train_shares, np.float64)
    target = np.asarray(target_shares, np.float64)
    if train.ndim != 2 or target.ndim != 2 or len(
            {train.shape[1], target.shape[1], len(class_names)}) != 1:
        raise ValueError(f'share arrays {train.shape} and {target.shape} do '
                         f'not both hold {len(class_names)} classes')
    if not len(train) or not len(target):
        raise ValueError('no train masks or no prompts to compare')
    blind = class_proportion_error(
        np.broadcast_to(train.mean(0), target.shape), target)
    real = np.abs(train[None] - target[:, None]).mean(1) * 100.0
    return {name: dict(mCPE=float(np.round(errors.mean(), 3)),
                       CPE={c: float(np.round(v, 3)) for c, v in
                            zip(class_names, errors.mean(0))})
            for name, errors in (('prompt_blind', blind), ('real_mask', real))}


def share_baselines_from_captions(train_captions: str, target_captions: str,
                                  class_names: Sequence[str]) -> Dict:
    """:func:`share_baselines` of two ``captions.jsonl`` files: the shares
    the train records state, against those the held-out prompts state (the
    targets stage 1's test loop scores)."""
    def stated(path):
        return np.stack([r['shares_array'] for r in
                         load_captions(path, class_names).values()])
    return share_baselines(stated(train_captions), stated(target_captions),
                           class_names)
