import os.path as osp

from mmengine.config import Config
from yapf.yapflib import yapf_api

from dldm_mmseg.utils.config import load_run_config

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
