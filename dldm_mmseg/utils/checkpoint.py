"""Check that a checkpoint fits a model before it is evaluated.

mmengine loads checkpoints non-strictly: weights of a decode head for
another number of classes are skipped with a warning buried in the log,
and the test then scores a randomly initialised head.
"""
from typing import Dict, List

import torch


def checkpoint_mismatches(model: torch.nn.Module,
                          state_dict: Dict[str, torch.Tensor]) -> List[str]:
    """What of ``state_dict`` does not fit ``model``.

    Args:
        model: The built model. Its ``state_dict()`` is what it expects
            (generators list their trainable weights only, as their
            checkpoints hold).
        state_dict: The checkpoint's weights (``'module.'`` prefixes of a
            distributed wrapper are ignored).

    Returns:
        list[str]: One line per problem: a shape that differs, a weight
        the model expects but the checkpoint lacks, and one the checkpoint
        holds but the model has no place for. Empty when it fits.
    """
    expected = model.state_dict()
    given = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state_dict.items()}
    problems = []
    for key, value in expected.items():
        if key not in given:
            problems.append(f'missing in the checkpoint: {key}')
        elif tuple(given[key].shape) != tuple(value.shape):
            problems.append(
                f'shape differs: {key} is {tuple(given[key].shape)} in the '
                f'checkpoint, {tuple(value.shape)} in the model')
    problems += [f'not in the model: {key}' for key in given
                 if key not in expected]
    return problems
