"""Quality of a synthetic set: mCPE, class-share distributions, grids."""
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
from PIL import Image

from dldm_mmseg.datasets.synth_layout import ANN_DIR, IMG_DIR, MANIFEST
from dldm_mmseg.evaluation.consistency import (consistency_areas,
                                               consistency_scores)
from dldm_mmseg.experiments.report import class_figure_width, class_ticks
from dldm_mmseg.utils.io import atomic_open, read_jsonl
from dldm_mmseg.utils.label_stats import (class_proportion_error,
                                          read_label_map, to_train_ids)
from dldm_mmseg.utils.palette import ignore_colour, index_to_rgb
from dldm_mmseg.utils.prompts import shares_to_array


def manifest_shares(out_dir: str, classes: Sequence[str]) -> Dict[str, object]:
    """Target and measured shares (``N x C``) and ids from a manifest."""
    records = read_jsonl(osp.join(out_dir, MANIFEST))
    if not records:
        raise ValueError(f'{out_dir}/manifest.jsonl is empty')
    missing = [r.get('id') for r in records
               if 'target_shares' not in r or 'measured_shares' not in r]
    if missing:
        raise KeyError(f'{len(missing)} records of {out_dir}/manifest.jsonl '
                       f'lack target_shares/measured_shares, e.g. '
                       f'{missing[:3]}; the set was not made by '
                       'tools/synthesize.py')
    return dict(
        ids=[str(r['id']) for r in records],
        target=np.stack([shares_to_array(r['target_shares'], classes)
                         for r in records]),
        measured=np.stack([shares_to_array(r['measured_shares'], classes)
                           for r in records]))


def set_mcpe(out_dir: str, classes: Sequence[str]) -> Dict[str, float]:
    """mCPE (percent) of a synthetic set and per-class CPE, from its
    manifest: measured mask shares vs the prompts' target shares."""
    shares = manifest_shares(out_dir, classes)
    errors = class_proportion_error(shares['measured'], shares['target'])
    result = dict(mCPE=float(errors.mean()))
    result.update({f'CPE.{c}': float(v) for c, v in
                   zip(classes, errors.mean(0))})
    return result


def filtered_shares(out_dir: str, classes: Sequence[str],
                    reduce_zero_label: bool = True) -> Dict[str, float]:
    """What the consistency filter took from each class (``mode='ignore'``):
    the percent of the class's pixels in the generated masks that the saved
    masks hold as ignore (the manifest's ``disagreeing_pixels``, over those
    plus the pixels still labelled). Empty for a set made without it."""
    records = read_jsonl(osp.join(out_dir, MANIFEST))
    if not records or 'disagreeing_pixels' not in records[0] or \
            records[0].get('consistency_mode') != 'ignore':
        return {}
    ignored = np.zeros(len(classes))
    kept = np.zeros(len(classes))
    for record in records:
        ignored += [record['disagreeing_pixels'][c] for c in classes]
        labels = to_train_ids(read_label_map(osp.join(
            out_dir, ANN_DIR, f'{record["id"]}.png')), reduce_zero_label)
        kept += np.bincount(labels[labels != 255].ravel(),
                            minlength=len(classes))[:len(classes)]
    total = np.maximum(ignored + kept, 1)
    result = {f'ignored.{c}': float(v) for c, v in
              zip(classes, 100 * ignored / total)}
    result['ignored'] = float(100 * ignored.sum() / total.sum())
    return result


def share_excess(measured: np.ndarray, target: np.ndarray,
                 classes: Sequence[str], threshold: float = 3.0) -> dict:
    """How much more of each class a set's masks hold than their prompts
    asked for, on average (points; negative: less), and the classes over
    ``threshold``: a class drawn in excess across the whole set is often
    the colour a decoder's blend of two others snaps to.

    Returns:
        dict: ``share_excess`` (class -> mean of measured - target, in
        points) and ``flagged`` (classes whose excess is over
        ``threshold``, largest first).
    """
    excess = (np.asarray(measured, np.float64) -
              np.asarray(target, np.float64)).mean(0) * 100.0
    order = np.argsort(-excess)
    return dict(share_excess={c: float(v) for c, v in zip(classes, excess)},
                flagged=[classes[i] for i in order if excess[i] > threshold])


def plot_share_distributions(real: np.ndarray, synthetic: np.ndarray,
                             classes: Sequence[str], path: str,
                             target: Optional[np.ndarray] = None) -> str:
    """Per-class pixel-share distributions, real vs synthetic (box plots)
    and mean shares (bars): the paper's Fig. 12/13 in kind."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    sets = [('real', real, '#4c72b0'), ('synthetic', synthetic, '#dd8452')]
    if target is not None:
        sets.append(('prompt target', target, '#55a868'))
    x = np.arange(len(classes))
    width = 0.8 / len(sets)
    if len(classes) <= 8:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4))
    else:  # one panel above the other, each as wide as the classes need
        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(
            class_figure_width(len(classes), 0.5, minimum=10), 9))
    for k, (name, shares, colour) in enumerate(sets):
        offset = (k - (len(sets) - 1) / 2) * width
        ax1.bar(x + offset, shares.mean(0) * 100, width, label=name,
                color=colour)
        box = ax2.boxplot([shares[:, c] * 100 for c in range(len(classes))],
                          positions=x + offset, widths=width * 0.9,
                          patch_artist=True, showfliers=False,
                          medianprops=dict(color='black'))
        for patch in box['boxes']:
            patch.set_facecolor(colour)
    class_ticks(ax1, classes)
    ax1.set_ylabel('mean pixel share (%)')
    ax1.legend(fontsize=8)
    class_ticks(ax2, classes)
    ax2.set_ylabel('pixel share per patch (%)')
    for ax in (ax1, ax2):
        ax.grid(axis='y', alpha=0.3)
    fig.suptitle(f'class shares: {len(real)} real vs {len(synthetic)} '
                 'synthetic patches')
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=110)
    plt.close(fig)
    return path


def sample_grid(out_dir: str, ids: Sequence[str], palette, path: str,
                reduce_zero_label: bool = True, size: int = 128,
                classes: Optional[Sequence[str]] = None,
                real_images: Optional[Dict[str, str]] = None) -> str:
    """Masks (top row) above their generated images (bottom row), with the
    palette key and, under each mask, the shares its prompt asked for next
    to the shares of the mask (from the set's manifest), so a reader can
    check by eye that masks follow prompts and images follow masks.

    Args:
        classes (Sequence[str], optional): Class names, in palette order;
            without them the key and the shares are left out.
        real_images (dict, optional): Real patch id -> image path. For a
            set painted for real masks (records with ``real_mask``), a
            third row shows the real image of each mask's patch.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    records = {}
    manifest = osp.join(out_dir, MANIFEST)
    if osp.isfile(manifest):
        records = {str(r.get('id')): r for r in read_jsonl(manifest)}
    real = real_rows(records, ids, real_images or {})
    # the shares under each mask need the class names
    shares = records if classes is not None else {}
    masks, images = [], []
    for sample in ids:
        label = np.asarray(Image.open(osp.join(out_dir, ANN_DIR,
                                               sample + '.png')))
        if reduce_zero_label:
            label = np.where(label == 0, 255, label.astype(np.int64) - 1)
        masks.append(Image.fromarray(index_to_rgb(label, palette)).resize(
            (size, size), Image.NEAREST))
        images.append(Image.open(osp.join(out_dir, IMG_DIR,
                                          sample + '.png')).convert('RGB'))
    num = len(ids)
    shown = len(classes) if classes is not None else 0
    text_rows = min(shown, 8) + 1 if shares else 0
    rows = 3 if real else 2
    fig, axes = plt.subplots(
        rows, num, squeeze=False,
        figsize=(1.9 * num, 2.1 * rows + 0.16 * text_rows),
        gridspec_kw=dict(hspace=0.05 + 0.035 * text_rows, wspace=0.05))
    for k, sample in enumerate(ids):
        axes[0, k].imshow(masks[k])
        axes[1, k].imshow(images[k].resize((size, size), Image.BILINEAR))
        if real:
            axes[2, k].imshow(Image.open(real[k]).convert('RGB').resize(
                (size, size), Image.BILINEAR))
        for ax in axes[:, k]:
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, k].set_title(sample, fontsize=7)
        record = shares.get(sample)
        if record is not None:
            target = shares_to_array(record['target_shares'], classes)
            measured = shares_to_array(record['measured_shares'], classes)
            # the classes that matter most in this sample, at most 8
            order = np.argsort(-np.maximum(target, measured))[:8]
            lines = ['target -> mask (%)'] + [
                f'{classes[c][:18]} {100 * target[c]:.0f} -> '
                f'{100 * measured[c]:.0f}' for c in sorted(order)
                if max(target[c], measured[c]) >= 0.005]
            axes[0, k].set_xlabel('\n'.join(lines), fontsize=6,
                                  family='monospace', loc='left')
    axes[0, 0].set_ylabel('mask', fontsize=8)
    axes[1, 0].set_ylabel('image', fontsize=8)
    if real:
        axes[2, 0].set_ylabel("the mask's\nreal image", fontsize=8)
    if classes is not None:
        handles = [Patch(facecolor=np.asarray(c) / 255, edgecolor='0.5',
                         label=name) for name, c in zip(classes, palette)]
        handles.append(Patch(facecolor=np.asarray(ignore_colour(palette))
                             / 255, edgecolor='0.5', label='ignore'))
        fig.legend(handles=handles, loc='lower center',
                   ncol=min(len(classes), 8), fontsize=7, frameon=False,
                   bbox_to_anchor=(0.5, -0.01 - 0.03 * (len(classes) // 9)))
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=110, bbox_inches='tight')
    plt.close(fig)
    return path


def real_rows(records: Dict[str, dict], ids: Sequence[str],
              real_images: Dict[str, str]) -> list:
    """The real image of each sample's mask (``real_mask`` of its record,
    looked up in ``real_images``), or [] when a sample has none (a set of
    generated masks).

    Raises:
        KeyError: Naming the patch when ``real_images`` lacks it.
    """
    names = [records.get(i, {}).get('real_mask') for i in ids]
    if not real_images or not names or None in names:
        return []
    missing = sorted({n for n in names if n not in real_images})
    if missing:
        raise KeyError(f'the real patches {missing[:3]} the masks were '
                       'taken from are not in the real set\'s captions: '
                       'pass the real set the synthetic set was painted '
                       'from (tools/analyze.py --real)')
    return [real_images[n] for n in names]


def consistency_miou(out_dir: str, checker, ids: Sequence[str],
                     classes: Sequence[str], reduce_zero_label: bool = True,
                     batch_size: int = 8) -> Dict[str, float]:
    """Mask-image consistency: mIoU (percent) of a reference segmentor's
    predictions on the synthetic images against their masks."""
    images = [np.asarray(Image.open(osp.join(
        out_dir, IMG_DIR, i + '.png')).convert('RGB'))
        for i in ids]
    masks = [to_train_ids(read_label_map(osp.join(
        out_dir, ANN_DIR, i + '.png')), reduce_zero_label)
        for i in ids]
    return images_consistency(checker, images, masks, classes, batch_size)


def images_consistency(checker, images: Sequence[np.ndarray],
                       masks: Sequence[np.ndarray], classes: Sequence[str],
                       batch_size: int = 8) -> Dict[str, float]:
    """mIoU (percent) of ``checker``'s predictions on ``images`` against
    ``masks`` (class indices 0..C-1, 255 = ignore), with per-class IoU
    (``consistency_IoU.<class>``, NaN for a class in neither), recall and
    precision (see :func:`~dldm_mmseg.evaluation.consistency.
    consistency_scores`)."""
    num = len(classes)
    areas = np.zeros((4, num))  # intersection, union, predicted, mask
    for start in range(0, len(images), batch_size):
        pred, _ = checker.predict(list(images[start:start + batch_size]))
        for p, m in zip(pred, masks[start:start + batch_size]):
            areas += np.stack(consistency_areas(p, m, num))
    return consistency_scores(*areas[:2], classes, *areas[2:])
