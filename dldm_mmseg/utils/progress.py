"""Progress of long work: a bar on a terminal, a line every few percent
in a log.

mmengine's ``ProgressBar`` redraws itself with carriage returns: on a
terminal that is a live bar with an ETA, but written to a file or a CI log
it leaves one bar state per item on a single line (a 98-patch captioning
run wrote 98 of them). :func:`progress_bar` gives the bar on a terminal
and :class:`LogProgress` elsewhere.
"""
import sys
import time
from typing import Optional, TextIO


class LogProgress:
    """``ProgressBar``'s ``update()`` interface for non-terminals: one
    line (``label: done/total (p%), elapsed, ETA``) each time another
    ``every_percent`` of the work is done, and at the end.

    Args:
        total (int): Number of items.
        label (str): What is counted, printed first on each line.
        every_percent (float): Print after each this many percent.
            Defaults to 10.
        file (TextIO, optional): Where to print. Defaults to stdout.
    """

    def __init__(self, total: int, label: str = 'progress',
                 every_percent: float = 10.0,
                 file: Optional[TextIO] = None) -> None:
        if total < 0:
            raise ValueError(f'total must be >= 0, got {total}')
        if not 0 < every_percent <= 100:
            raise ValueError(f'every_percent must be in (0, 100], got '
                             f'{every_percent}')
        self.total = total
        self.label = label
        self.step = max(1, int(total * every_percent / 100))
        self.file = file
        self.completed = 0
        self.start = time.perf_counter()

    def update(self, num_tasks: int = 1) -> None:
        before = self.completed
        self.completed += num_tasks
        crossed = self.completed // self.step > before // self.step
        if crossed or (self.completed >= self.total > before):
            elapsed = time.perf_counter() - self.start
            rate = self.completed / elapsed if elapsed > 0 else 0.0
            left = max(self.total - self.completed, 0)
            eta = f'{left / rate:.0f} s' if rate > 0 else '?'
            percent = 100 * self.completed / max(self.total, 1)
            print(f'{self.label}: {self.completed}/{self.total} '
                  f'({percent:.0f}%), elapsed {elapsed:.0f} s, ETA {eta}',
                  file=self.file or sys.stdout, flush=True)


def progress_bar(total: int, label: str = 'progress',
                 every_percent: float = 10.0):
    """mmengine's ``ProgressBar`` when stdout is a terminal, else a
    :class:`LogProgress` that prints a line every ``every_percent``."""
    isatty = getattr(sys.stdout, 'isatty', None)
    if isatty is not None and isatty():
        from mmengine.utils import ProgressBar
        return ProgressBar(total)
    return LogProgress(total, label, every_percent)
