"""Random number generator states saved with each checkpoint and restored
on resume, so that a resumed run draws what the uninterrupted one would."""
from mmengine.hooks import Hook

from mmseg.registry import HOOKS
from dldm_mmseg.utils.random_state import (global_random_state,
                                           set_global_random_state)


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
        checkpoint.setdefault('meta', {})['random_state'] = \
            global_random_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('meta', {}).get('random_state')
        if state is not None:
            set_global_random_state(state)
