import os.path as osp
import subprocess
import sys
import textwrap

from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE

from dldm_mmseg.utils.compat import ONEDL_NOTICE, register_onedl_scopes

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_stock_config_inheritance_after_import(tmp_path):
    path = tmp_path / 'mine.py'
    path.write_text("_base_ = ['mmseg::pspnet/pspnet_r18-d8_4xb4-80k_"
                    "potsdam-512x512.py']\nmodel = dict(pretrained=None)\n")
    cfg = Config.fromfile(str(path))
    assert cfg.model.decode_head.num_classes == 6
    assert cfg.train_dataloader.dataset.type == 'PotsdamDataset'
    assert register_onedl_scopes() == {}  # idempotent: already mapped
    assert MODULE2PACKAGE['mmseg'] == 'onedl-mmsegmentation'


def test_user_script_needs_only_the_import(tmp_path):
    path = tmp_path / 'mine.py'
    path.write_text("_base_ = ['mmseg::deeplabv3plus/deeplabv3plus_r18-d8_"
                    "4xb4-80k_vaihingen-512x512.py']\n")
    script = textwrap.dedent(f"""
        from mmengine.config import Config
        try:
            Config.fromfile({str(path)!r})
        except Exception as e:
            print('without:', type(e).__name__)
        import dldm_mmseg
        print('with:', Config.fromfile({str(path)!r}).dataset_type)
    """)
    out = subprocess.run([sys.executable, '-c', script], capture_output=True,
                         text=True, check=True).stdout
    assert 'without:' in out  # the gap STACK.md describes is real
    assert 'with: ISPRSDataset' in out


def test_import_hides_only_the_onedl_notice():
    # the installed mmseg prints the notice twice at import (it looks like
    # a broken install); importing the plugin first keeps it quiet
    def stdout(code):
        return subprocess.run([sys.executable, '-c', code],
                              capture_output=True, text=True,
                              check=True).stdout

    assert stdout('import mmseg.datasets').count(ONEDL_NOTICE) == 2
    assert ONEDL_NOTICE not in stdout('import dldm_mmseg; import mmseg.apis')


def test_import_patches_nothing_until_the_speed_ups_are_asked_for():
    code = ('import dldm_mmseg; from yapf.yapflib import yapf_api; '
            'from mmengine.config import config as c; '
            'print(hasattr(yapf_api.FormatCode, "dldm_memoized"), '
            'hasattr(c._get_external_cfg_path, "dldm_memoized")); '
            'from dldm_mmseg.utils.compat import speed_up_configs; '
            'speed_up_configs(); '
            'print(hasattr(yapf_api.FormatCode, "dldm_memoized"), '
            'hasattr(c._get_external_cfg_path, "dldm_memoized"))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True).stdout.split('\n')
    assert out[-3:-1] == ['False False', 'True True']


def test_config_text_is_formatted_once_and_unchanged(monkeypatch):
    from mmengine.config import Config
    from yapf.yapflib import yapf_api
    memo = yapf_api.FormatCode
    assert memo.dldm_memoized
    calls = []

    def counting(*args, **kwargs):
        calls.append(args[0])
        return yapf_own(*args, **kwargs)
    yapf_own = memo.__wrapped__
    monkeypatch.setattr(memo, '__wrapped__', counting)
    cfg = Config(dict(model=dict(type='X', layers=[1, 2, 3]),
                      name='formatted once'))
    text = cfg.pretty_text
    assert cfg.pretty_text == text and len(calls) == 1
    other = Config(dict(model=dict(type='Y')))
    other.pretty_text
    assert len(calls) == 2
    # the text is yapf's own formatting of it
    assert text == yapf_own(calls[0], style_config=dict(
        based_on_style='pep8', blank_line_before_nested_class_or_def=True,
        split_before_expression_after_opening_paren=True))[0]


def test_external_config_lookup_scans_metafiles_once(monkeypatch):
    from mmengine.config import Config
    from mmengine.config import config as config_module
    from mmengine.config import utils as config_utils
    lookup = config_module._get_external_cfg_path
    assert lookup.dldm_memoized
    lookup.lookup.cache_clear()
    scans = []
    scan = config_utils._get_cfg_metainfo

    def counting(*args):
        scans.append(args[1])
        return scan(*args)
    monkeypatch.setattr(config_utils, '_get_cfg_metainfo', counting)
    path = osp.join(ROOT, 'configs', 'deeplabv3plus_potsdam_syn40.py')
    first = Config.fromfile(path)
    n = len(scans)
    assert n > 0  # its mmseg:: bases were looked up...
    second = Config.fromfile(path)
    assert len(scans) == n  # ...once
    assert first.to_dict() == second.to_dict()
