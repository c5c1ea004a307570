"""The process's global random states (Python's, NumPy's, torch's CPU and
CUDA generators): read, set again, or kept across a block of work."""
import contextlib
import random

import numpy as np
import torch


def global_random_state() -> dict:
    """Python's, NumPy's and torch's global states (CUDA's too, when CUDA
    is initialised)."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_global_random_state(state: dict) -> None:
    """Set the states :func:`global_random_state` returned (CUDA's when
    saved for as many devices as there are now)."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available() and \
            len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


@contextlib.contextmanager
def kept_random_state():
    """Run a block and leave every global random state as it found it,
    so the work in it (making a synthetic set while a dataset is built)
    does not change what a training run draws afterwards."""
    state = global_random_state()
    try:
        yield
    finally:
        set_global_random_state(state)
