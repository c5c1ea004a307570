"""The package, tools, tests, benchmarks and configs follow PEP 8 as
pycodestyle checks it (79 columns, MMSeg's own line length)."""
import os.path as osp

import pycodestyle

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CHECKED = ('dldm_mmseg', 'tools', 'tests', 'bench', 'configs', 'setup.py')


def test_code_follows_pep8(capsys):
    style = pycodestyle.StyleGuide(max_line_length=79)
    report = style.check_files([osp.join(ROOT, p) for p in CHECKED])
    assert report.total_errors == 0, (
        'pycodestyle findings (fix them, or run `pycodestyle '
        + ' '.join(CHECKED) + '` to list them):\n' + capsys.readouterr().out)


def test_style_check_catches_a_long_line(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text('x = ' + repr('a' * 80) + '\n')
    report = pycodestyle.StyleGuide(quiet=True).check_files([str(bad)])
    assert report.get_count('E501') == 1
