import random

import numpy as np
import pytest
import torch

from dldm_mmseg.utils.random_state import (global_random_state,
                                           kept_random_state,
                                           set_global_random_state)


def draws():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_kept_random_state_restores_every_generator_even_on_error():
    torch.manual_seed(0)
    state = global_random_state()
    expected = draws()
    set_global_random_state(state)
    with kept_random_state():
        draws()
    assert draws() == expected
    set_global_random_state(state)
    with pytest.raises(RuntimeError):
        with kept_random_state():
            draws()
            raise RuntimeError('interrupted')
    assert draws() == expected
