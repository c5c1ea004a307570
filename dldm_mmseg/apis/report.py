"""Tables and plots of segmentation results for reports."""
import os.path as osp
from typing import Dict, Sequence

import numpy as np


def metrics_table(results: Dict[str, Dict[str, float]],
                  class_names: Sequence[str]) -> str:
    """A markdown table: one row per run, per-class IoU, mIoU, mF1, mCPE."""
    header = ['run'] + [f'IoU {c}' for c in class_names] + [
        'mIoU', 'mF1', 'mCPE']
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    for run, metrics in results.items():
        cells = [run] + [f'{metrics.get(f"IoU.{c}", float("nan")):.2f}'
                         for c in class_names]
        cells += [f'{metrics.get(k, float("nan")):.2f}'
                  for k in ('mIoU', 'mFscore', 'mCPE')]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def plot_per_class_iou(results: Dict[str, Dict[str, float]],
                       class_names: Sequence[str], path: str) -> str:
    """Grouped bar chart of per-class IoU for each run; returns ``path``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from dldm_mmseg.utils.io import atomic_open
    runs = list(results)
    x = np.arange(len(class_names))
    width = 0.8 / max(len(runs), 1)
    fig, ax = plt.subplots(figsize=(1.4 * len(class_names) + 2, 3.6))
    for i, run in enumerate(runs):
        values = [results[run].get(f'IoU.{c}', np.nan) for c in class_names]
        ax.bar(x + (i - (len(runs) - 1) / 2) * width, values, width,
               label=run)
    ax.set_xticks(x, [c.replace('_', '\n') for c in class_names])
    ax.set_ylabel('IoU (%)')
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format=osp.splitext(path)[1][1:] or 'png', dpi=120)
    plt.close(fig)
    return path


def plot_metric_vs_alpha(results: Dict[float, Dict[str, float]],
                         class_names: Sequence[str], path: str,
                         classes_to_plot: Sequence[str] = ('car', 'clutter')
                         ) -> str:
    """mIoU, mF1 and chosen per-class IoU against the synthetic ratio alpha
    (the paper's Fig. 14 in kind); returns ``path``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from dldm_mmseg.utils.io import atomic_open
    alphas = sorted(results)
    fig, ax = plt.subplots(figsize=(6, 3.8))
    series = [('mIoU', 'mIoU'), ('mFscore', 'mF1')] + [
        (f'IoU.{c}', f'IoU {c}') for c in classes_to_plot
        if c in class_names]
    for key, label in series:
        values = [results[a].get(key, np.nan) for a in alphas]
        ax.plot([a * 100 for a in alphas], values, marker='o', label=label)
    ax.set_xlabel('synthetic samples (% of real), alpha x 100')
    ax.set_ylabel('%')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=120)
    plt.close(fig)
    return path
