"""Every option of every tool says what it does."""
import argparse
import os
import os.path as osp

import pytest

from fixtures import load_tool

TOOLS = sorted(name[:-3] for name in os.listdir(osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools'))
    if name.endswith('.py'))


class Parsed(Exception):
    """Raised instead of parsing, carrying the parser."""


@pytest.mark.parametrize('tool', TOOLS)
def test_every_option_has_help(tool, monkeypatch):
    module = load_tool(tool)

    def capture(parser, *args, **kwargs):
        raise Parsed(parser)

    monkeypatch.setattr(argparse.ArgumentParser, 'parse_args', capture)
    monkeypatch.setattr(argparse.ArgumentParser, 'parse_known_args',
                        capture)
    entry = getattr(module, 'parse_args', None) or module.main
    with pytest.raises(Parsed) as caught:
        entry([])
    parser = caught.value.args[0]
    # --local_rank is set by torch's launcher, not by people
    silent = [action.option_strings or [action.dest]
              for action in parser._actions
              if action.help is None and action.dest != 'local_rank']
    assert silent == [], f'tools/{tool}.py options without help: {silent}'
