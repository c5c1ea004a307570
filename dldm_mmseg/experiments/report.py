"""Tables and plots of segmentation results for reports."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from dldm_mmseg.utils.io import atomic_open


def metrics_table(results: Dict[str, Dict[str, float]],
                  class_names: Sequence[str],
                  std: Optional[Dict[str, Dict[str, float]]] = None,
                  precision_recall: Sequence[str] = ()) -> str:
    """A markdown table: one row per run, per-class IoU, the precision
    and recall of the classes in ``precision_recall`` (e.g. the rare
    ones: a run that finds more of a class at a lower precision wins on a
    split rich in it and loses on one poor in it), mIoU (and mIoU without
    the optional classes where the metric reports it, e.g.
    ``mIoU_without_clutter``), mF1, mCPE.

    With ``std`` (same layout as ``results``, e.g. from
    :func:`mean_and_std`), cells read ``mean ± std``.
    """
    without = sorted({k for m in results.values() for k in m
                      if k.startswith('mIoU_without_')})
    header = ['run'] + [f'IoU {c}' for c in class_names] + [
        f'{name} {c}' for c in precision_recall
        for name in ('precision', 'recall')] + ['mIoU'] + [
        'mIoU w/o ' + k[len('mIoU_without_'):].replace('+', ', ')
        for k in without] + ['mF1', 'mCPE']
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    keys = [f'IoU.{c}' for c in class_names] + [
        f'{name}.{c}' for c in precision_recall
        for name in ('Precision', 'Recall')] + ['mIoU'] + without + [
        'mFscore', 'mCPE']
    for run, metrics in results.items():
        cells = [run]
        for key in keys:
            cell = f'{metrics.get(key, float("nan")):.2f}'
            if std is not None:
                cell += f' ± {std[run].get(key, float("nan")):.2f}'
            cells.append(cell)
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def mean_and_std(runs: List[Dict[str, Dict[str, float]]]):
    """Per-metric mean and sample standard deviation over repeated runs.

    Args:
        runs: One ``{run name: {metric: value}}`` per seed.

    Returns:
        tuple: ``(mean, std)`` dicts of the same layout (NaN values, e.g.
        the IoU of a class a run never predicts, are left out of both; std
        is 0 for a single run).
    """
    mean, std = {}, {}
    for name in runs[0]:
        mean[name], std[name] = {}, {}
        for key in runs[0][name]:
            values = np.array([r[name].get(key, np.nan) for r in runs],
                              dtype=np.float64)
            values = values[np.isfinite(values)]
            mean[name][key] = float(values.mean()) if values.size else \
                float('nan')
            std[name][key] = float(values.std(ddof=1)) if values.size > 1 \
                else 0.0
    return mean, std


def class_ticks(ax, class_names: Sequence[str]) -> None:
    """Class names under per-class bars, readable for 2 to 30 classes:
    wrapped at ``_`` for a few, rotated for many."""
    x = np.arange(len(class_names))
    if len(class_names) <= 8:
        ax.set_xticks(x, [c.replace('_', '\n') for c in class_names])
    else:
        ax.set_xticks(x, class_names, rotation=60, ha='right',
                      rotation_mode='anchor', fontsize=8)


def class_figure_width(num_classes: int, per_class: float,
                       minimum: float = 6.0, maximum: float = 22.0
                       ) -> float:
    """Figure width in inches for ``num_classes`` groups of bars."""
    return float(min(max(per_class * num_classes + 2, minimum), maximum))


def plot_per_class_iou(results: Dict[str, Dict[str, float]],
                       class_names: Sequence[str], path: str) -> str:
    """Grouped bar chart of per-class IoU for each run; returns ``path``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    runs = list(results)
    x = np.arange(len(class_names))
    width = 0.8 / max(len(runs), 1)
    many = len(class_names) > 8
    fig, ax = plt.subplots(figsize=(
        class_figure_width(len(class_names), 0.35 * (len(runs) + 1) if many
                           else 1.4), 4.6 if many else 3.6))
    for i, run in enumerate(runs):
        values = np.array([results[run].get(f'IoU.{c}', np.nan)
                           for c in class_names], dtype=np.float64)
        where = x + (i - (len(runs) - 1) / 2) * width
        bars = ax.bar(where, np.nan_to_num(values), width, label=run)
        # a zero or undefined IoU has no bar: mark it so it is seen
        for xpos, value in zip(where, values):
            if not np.isfinite(value) or value < 0.5:
                ax.text(xpos, 1, '0' if np.isfinite(value) else 'n/a',
                        ha='center', va='bottom', fontsize=7,
                        color=bars.patches[0].get_facecolor(),
                        fontweight='bold')
    class_ticks(ax, class_names)
    ax.set_ylabel('IoU (%)')
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format=osp.splitext(path)[1][1:] or 'png', dpi=120)
    plt.close(fig)
    return path


def weakest_classes(metrics: Dict[str, float], class_names: Sequence[str],
                    num: int = 2) -> List[str]:
    """The ``num`` classes with the lowest ``IoU.<class>`` in ``metrics``
    (classes without a finite IoU are left out)."""
    scored = [(metrics[f'IoU.{c}'], c) for c in class_names
              if np.isfinite(metrics.get(f'IoU.{c}', np.nan))]
    return [c for _, c in sorted(scored)[:num]]


def plot_metric_vs_alpha(results: Dict[float, Dict[str, float]],
                         class_names: Sequence[str], path: str,
                         classes_to_plot: Optional[Sequence[str]] = None,
                         std: Optional[Dict[float, Dict[str, float]]] = None
                         ) -> str:
    """mIoU, mF1 and per-class IoU against the synthetic ratio alpha (the
    paper's Fig. 14 in kind); returns ``path``.

    ``classes_to_plot`` defaults to the two classes with the lowest IoU at
    the smallest alpha (the weak classes synthetic data is meant to help),
    whatever the dataset. ``std`` (the standard deviations over seeds, keyed
    as ``results``) draws a band of mean ± std around each line, so a
    difference between alphas can be read against the seed spread.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    alphas = sorted(results)
    if classes_to_plot is None:
        classes_to_plot = weakest_classes(results[alphas[0]], class_names)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    series = [('mIoU', 'mIoU'), ('mFscore', 'mF1')] + [
        (f'IoU.{c}', f'IoU {c}') for c in classes_to_plot
        if c in class_names]
    for key, label in series:
        x = [a * 100 for a in alphas]
        values = np.array([results[a].get(key, np.nan) for a in alphas])
        line, = ax.plot(x, values, marker='o', label=label)
        if std is not None:
            spread = np.array([std[a].get(key, np.nan) for a in alphas])
            ax.fill_between(x, values - spread, values + spread,
                            color=line.get_color(), alpha=0.2, linewidth=0)
    if std is not None:
        ax.set_title('mean ± std over seeds', fontsize=9)
    ax.set_xlabel('synthetic samples (% of real), alpha x 100')
    ax.set_ylabel('%')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=120)
    plt.close(fig)
    return path
