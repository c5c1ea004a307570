import os
import os.path as osp

import pytest
from mmengine.config import Config
from yapf.yapflib import yapf_api

from dldm_mmseg.utils.config import environment_variable, load_run_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'demo', 'deeplabv3plus_toy_syn40.py')


def test_unformatted_run_config_is_the_same_config(tmp_path, monkeypatch):
    options = {'train_cfg.max_iters': 3}
    formatted = load_run_config(CONFIG, options, work_dir=str(tmp_path))
    plain = load_run_config(CONFIG, options, work_dir=str(tmp_path),
                            format_python_code=False)
    assert plain.to_dict() == formatted.to_dict()
    assert (plain.filename, plain.text) == (formatted.filename,
                                            formatted.text)
    calls = []
    monkeypatch.setattr(yapf_api.FormatCode, '__wrapped__',
                        lambda *a, **k: calls.append(a) or (a[0], True))
    plain.pretty_text
    assert calls == []  # yapf is not run...
    path = str(tmp_path / 'dumped.py')
    plain.dump(path)
    assert Config.fromfile(path).to_dict() == plain.to_dict()  # ...and the
    # dumped text still loads as the same config


def test_environment_variable_is_set_for_the_block_then_restored(
        tmp_path, monkeypatch):
    """A config's ``{{$NAME:default}}`` reads the value set for the block;
    after it the variable is as before, set or not, even on an error."""
    config = tmp_path / 'c.py'
    config.write_text("root = '{{$DLDM_TEST_ROOT:default}}/data'\n")
    monkeypatch.delenv('DLDM_TEST_ROOT', raising=False)
    with environment_variable('DLDM_TEST_ROOT', '/work'):
        assert Config.fromfile(str(config)).root == '/work/data'
    assert 'DLDM_TEST_ROOT' not in os.environ
    assert Config.fromfile(str(config)).root == 'default/data'
    monkeypatch.setenv('DLDM_TEST_ROOT', '/before')
    with pytest.raises(RuntimeError):
        with environment_variable('DLDM_TEST_ROOT', None):
            assert Config.fromfile(str(config)).root == 'default/data'
            raise RuntimeError
    assert os.environ['DLDM_TEST_ROOT'] == '/before'
