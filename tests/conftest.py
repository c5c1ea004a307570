import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

import dldm_mmseg  # noqa: E402,F401  (registers modules, fixes mmseg:: scope)
from dldm_mmseg.utils.compat import speed_up_configs  # noqa: E402
from fixtures import make_seg_dataset, make_synth_set  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

init_default_scope('mmseg')
speed_up_configs()  # many short runs, as the demo


@pytest.fixture
def seg_root(tmp_path):
    return make_seg_dataset(str(tmp_path / 'real'))


@pytest.fixture
def synth_root(tmp_path):
    root = str(tmp_path / 'syn')
    make_synth_set(root)
    return root


@pytest.fixture(autouse=True)
def demo_dir_variable(monkeypatch):
    """A demo built by a test sets the work-dir variable the demo configs
    read; each test starts and ends without it."""
    monkeypatch.delenv('DLDM_DEMO_DIR', raising=False)
    yield
    os.environ.pop('DLDM_DEMO_DIR', None)
