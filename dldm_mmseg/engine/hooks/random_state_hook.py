"""Random number generator states saved with each checkpoint and restored
on resume, so that a resumed run draws what the uninterrupted one would."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from mmseg.registry import HOOKS


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Keep Python's, NumPy's and torch's (CPU and CUDA) global random
    states in ``checkpoint['meta']['random_state']`` and set them again when
    a run resumes from it.

    mmengine's resume re-seeds nothing when the seed is unchanged, so the
    resumed run continues from the seeding state of a fresh start: its
    diffusion noise, timesteps and random flips differ from those of the
    run it continues. With this hook a resumed epoch-based run gives the
    weights of the uninterrupted run (same device, same kernels).

    A checkpoint without a saved state resumes as before (state left as
    seeded).
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(python=random.getstate(), numpy=np.random.get_state(),
                     torch=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint.setdefault('meta', {})['random_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('meta', {}).get('random_state')
        if state is None:
            return
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        cuda = state.get('cuda')
        if cuda is not None and torch.cuda.is_available() and \
                len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
