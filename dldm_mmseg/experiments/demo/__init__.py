"""The demo (``tools/demo.py``): the whole method end to end on a CPU, on
the built-in toy scenes or a real scene, with a report. ``steps`` holds the
folders, settings and training steps, ``measures`` what is measured,
``weights`` the pretrained demo generators, ``report`` and ``verdicts``
the report (its Markdown in ``report_template.md``), and ``pipeline`` the
order of the steps."""
from .pipeline import finished_demo, run_demo
from .steps import Demo

__all__ = ['Demo', 'finished_demo', 'run_demo']
