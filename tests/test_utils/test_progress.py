import io

import pytest

from dldm_mmseg.utils.progress import LogProgress, progress_bar


def test_log_progress_prints_a_line_every_few_percent_and_at_the_end():
    out = io.StringIO()
    bar = LogProgress(98, 'captions', every_percent=10, file=out)
    for _ in range(98):
        bar.update()
    lines = out.getvalue().splitlines()
    # every 9 items (10% of 98, floored) and the last: 10 + 1 lines, no \r
    assert len(lines) == 11
    assert '\r' not in out.getvalue()
    assert lines[0].startswith('captions: 9/98 (9%), elapsed ')
    assert lines[-1].startswith('captions: 98/98 (100%)')
    assert all('ETA' in line for line in lines)


def test_log_progress_counts_batches_and_small_totals():
    out = io.StringIO()
    bar = LogProgress(3, 'synthesis', file=out)
    bar.update(2)
    bar.update(1)
    assert [line.split(',')[0] for line in out.getvalue().splitlines()] == [
        'synthesis: 2/3 (67%)', 'synthesis: 3/3 (100%)']
    with pytest.raises(ValueError, match='every_percent'):
        LogProgress(3, every_percent=0)


def test_progress_bar_is_a_log_when_stdout_is_not_a_terminal(capsys):
    bar = progress_bar(4, 'FID features')
    assert isinstance(bar, LogProgress)
    for _ in range(4):
        bar.update()
    assert capsys.readouterr().out.splitlines()[-1].startswith(
        'FID features: 4/4 (100%)')
