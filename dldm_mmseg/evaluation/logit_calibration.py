"""Per-class logit biases for :class:`BiasedEncoderDecoder`.

Two ways to set them:

- :func:`prior_shift_bias`: ``log(target share) - log(training share)``
  per class, the label-shift correction for a segmentor trained on a
  stream whose class shares differ from the real images' (a stream mixed
  with synthetic samples drawn toward rare classes). It needs no labelled
  val data: :func:`stream_class_counts` counts the training stream as the
  sampler and pipeline deal it.
- :func:`fit_logit_bias`: the biases that maximise mIoU on labelled
  pixels (val), by exact coordinate ascent.

:func:`collect_logits` gathers a segmentor's logits and labels over a
dataloader; :func:`miou` scores biased logits as mmseg's ``IoUMetric``
does.
"""
import copy
import os.path as osp
from itertools import islice
from typing import Dict, Iterable, Optional, Sequence, Tuple

import numpy as np
import torch

from dldm_mmseg.datasets.samplers import real_loader
from dldm_mmseg.utils.label_stats import class_counts
from dldm_mmseg.utils.progress import progress_bar

SEGMENTOR_TYPES = ('EncoderDecoder', 'BiasedEncoderDecoder')


def _confusion_iou(tp: np.ndarray, pred: np.ndarray,
                   gt: np.ndarray) -> np.ndarray:
    """IoU per class (NaN where the class is neither labelled nor
    predicted), as mmseg's ``IoUMetric``; works on stacked rows."""
    union = gt + pred - tp
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, tp / np.maximum(union, 1), np.nan)


def _check(logits: np.ndarray, labels: np.ndarray) -> Tuple[np.ndarray,
                                                            np.ndarray]:
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1)
    if logits.ndim != 2 or logits.shape[1] < 2 or \
            len(logits) != len(labels):
        raise ValueError(
            f'logits of shape {logits.shape} and {len(labels)} labels: '
            'expected (pixels, classes) with at least 2 classes and one '
            'label per pixel (a single sigmoid channel has '
            'decode_head.threshold instead)')
    if len(labels) == 0:
        raise ValueError('no labelled pixel to score or fit biases on')
    if not np.isfinite(logits).all():
        raise ValueError(f'{int((~np.isfinite(logits)).sum())} logits are '
                         'not finite (NaN or inf): check the checkpoint')
    outside = (labels < 0) | (labels >= logits.shape[1])
    if outside.any():
        raise ValueError(
            f'labels hold {np.unique(labels[outside])[:10].tolist()}, outside '
            f'the {logits.shape[1]} classes; drop ignored pixels first')
    return logits, labels


def confusion_counts(logits: np.ndarray, labels: np.ndarray,
                     bias: Optional[Sequence[float]] = None) -> Tuple:
    """Pixels of each class predicted correctly, predicted, and labelled,
    when each pixel takes the argmax of ``logits + bias``.

    Args:
        logits (np.ndarray): ``(pixels, classes)``.
        labels (np.ndarray): ``(pixels,)`` class indices, ignored pixels
            already dropped.
        bias (Sequence[float], optional): One value per class.

    Returns:
        tuple: ``(true_positive, predicted, labelled)``, int64 per class.
    """
    logits, labels = _check(logits, labels)
    num = logits.shape[1]
    if bias is not None:
        logits = logits + np.asarray(bias, dtype=np.float64)
    pred = logits.argmax(1)
    return (np.bincount(labels[pred == labels], minlength=num),
            np.bincount(pred, minlength=num),
            np.bincount(labels, minlength=num))


def per_class_iou(logits: np.ndarray, labels: np.ndarray,
                  bias: Optional[Sequence[float]] = None) -> np.ndarray:
    """IoU of each class when each pixel takes the argmax of ``logits +
    bias`` (NaN for a class neither labelled nor predicted); arguments as
    :func:`confusion_counts`."""
    return _confusion_iou(*confusion_counts(logits, labels, bias))


def miou(logits: np.ndarray, labels: np.ndarray,
         bias: Optional[Sequence[float]] = None) -> float:
    """Mean of :func:`per_class_iou` over the classes that have one, in
    percent as mmseg reports it."""
    return float(np.nanmean(per_class_iou(logits, labels, bias)) * 100)


def _best_coordinate(logits, labels, bias, c):
    """The value of ``bias[c]`` that maximises mIoU with the others fixed,
    and that mIoU: every pixel whose argmax over the other classes is
    ``o`` turns to ``c`` once ``bias[c]`` exceeds its margin ``t``, so
    sorting the margins scores, in one pass, every decision with the bias
    between two distinct margins (not the splits of pixels tied at one
    margin, which continuous logits do not have)."""
    num = logits.shape[1]
    shifted = logits + bias
    own = shifted[:, c] - bias[c]
    shifted[:, c] = -np.inf
    other = shifted.argmax(1)
    margin = shifted[np.arange(len(other)), other] - own
    order = np.argsort(margin, kind='stable')
    margin, other, label = margin[order], other[order], labels[order]
    gt = np.bincount(labels, minlength=num).astype(np.float64)
    # row n: the first n pixels (smallest margins) predicted c
    tp = np.zeros((len(order) + 1, num))
    pred = np.zeros((len(order) + 1, num))
    pred[:, c] = np.arange(len(order) + 1)
    tp[1:, c] = np.cumsum(label == c)
    for k in range(num):
        if k == c:
            continue
        moved = other == k
        pred[:, k] = moved.sum() - np.concatenate(([0], np.cumsum(moved)))
        hits = moved & (label == k)
        tp[:, k] = hits.sum() - np.concatenate(([0], np.cumsum(hits)))
    scores = np.nanmean(_confusion_iou(tp, pred, gt), axis=1)
    # only where the decision changes: between distinct margins
    distinct = np.concatenate(([True], margin[1:] > margin[:-1], [True]))
    scores[~distinct] = -np.inf
    n = int(np.argmax(scores))
    if n == 0:
        value = margin[0] - 1.0
    elif n == len(margin):
        value = margin[-1] + 1.0
    else:
        value = (margin[n - 1] + margin[n]) / 2
    return value, float(scores[n] * 100)


def fit_logit_bias(logits: np.ndarray, labels: np.ndarray,
                   max_rounds: int = 10,
                   tol: float = 1e-6) -> Dict[str, object]:
    """Per-class biases that maximise mIoU of ``argmax(logits + bias)``
    on labelled pixels, by coordinate ascent where each coordinate is
    solved exactly (the best of every distinct decision along it).

    Rounds stop when one raises mIoU by less than ``tol`` percent. The
    biases are returned centred (mean 0); only their differences matter.

    Args:
        logits (np.ndarray): ``(pixels, classes)``, from
            :func:`collect_logits` on val.
        labels (np.ndarray): ``(pixels,)``, ignored pixels dropped.
        max_rounds (int): At most this many passes over the classes.
        tol (float): The smallest gain of a round, in mIoU percent.

    Returns:
        dict: ``bias`` (list of float), ``miou_before`` and ``miou_after``
        (percent), ``rounds``.
    """
    logits, labels = _check(logits, labels)
    num = logits.shape[1]
    bias = np.zeros(num)
    before = best = miou(logits, labels)
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        start = best
        for c in range(num):
            value, score = _best_coordinate(logits, labels, bias, c)
            if score > best:
                bias[c], best = value, score
        if best - start < tol:
            break
    bias -= bias.mean()
    return dict(bias=bias.tolist(), miou_before=before,
                miou_after=miou(logits, labels, bias), rounds=rounds)


def prior_shift_bias(train_counts: Sequence[float],
                     target_counts: Sequence[float],
                     classes: Optional[Sequence[str]] = None) -> list:
    """``log(target share) - log(training share)`` per class, centred.

    Args:
        train_counts (Sequence[float]): Labelled pixels of each class in
            the training stream (:func:`stream_class_counts`).
        target_counts (Sequence[float]): The same on the images the
            segmentor will meet (the real training samples).
        classes (Sequence[str], optional): Class names for the error.

    A class with no pixel in either keeps a bias of 0 (before centring):
    nothing says its share shifted.

    Raises:
        ValueError: When the lengths differ, or a class has pixels in only
            one of the two (its bias would be infinite).
    """
    train = np.asarray(train_counts, dtype=np.float64)
    target = np.asarray(target_counts, dtype=np.float64)
    if train.shape != target.shape or train.ndim != 1:
        raise ValueError(f'training counts of shape {train.shape} against '
                         f'target counts of shape {target.shape}: give one '
                         'count per class to each')
    absent = (train <= 0) & (target <= 0)
    empty = np.flatnonzero((train <= 0) != (target <= 0))
    if len(empty):
        names = [classes[i] if classes else str(i) for i in empty]
        raise ValueError(
            f'class(es) {names} have labelled pixels in only one of the '
            f'training stream ({train[empty].tolist()}) and the target '
            f'samples ({target[empty].tolist()}), so their prior shift is '
            'infinite; count more batches or fit the bias on val instead')
    bias = np.zeros(len(train))
    present = ~absent
    bias[present] = np.log(target[present] / target.sum()) - \
        np.log(train[present] / train.sum())
    return (bias - bias.mean()).tolist()


def stream_class_counts(batches: Iterable, num_classes: int,
                        max_batches: Optional[int] = None,
                        ignore_index: int = 255) -> np.ndarray:
    """Labelled pixels of each class in the batches a training dataloader
    deals (its sampler's mix, its pipeline's crops and flips).

    Args:
        batches (Iterable): Batches with ``data_samples`` holding
            ``gt_sem_seg``.
        num_classes (int): The segmentor's classes.
        max_batches (int, optional): Stop after this many (an infinite
            sampler never ends by itself).
        ignore_index (int): Unlabelled pixels.

    Raises:
        ValueError: When a label is neither a class nor ``ignore_index``,
            or there was no batch.
    """
    counts = np.zeros(num_classes, dtype=np.int64)
    used = 0
    for batch in islice(batches, max_batches):
        for sample in batch['data_samples']:
            counts += class_counts(sample.gt_sem_seg.data.numpy(),
                                   num_classes, ignore_index,
                                   sample.metainfo.get('seg_map_path'))
        used += 1
    if used == 0:
        raise ValueError(f'no batch to count classes in (max_batches '
                         f'{max_batches}); give a dataloader with samples')
    return counts


def collect_logits(
        model, loader, ignore_index: int = 255,
        max_pixels_per_image: Optional[int] = None, seed: int = 0,
        show_progress: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """A segmentor's logits and labels over a val or test dataloader, at
    each image's original size, ignored pixels dropped.

    Args:
        model: An mmseg segmentor in eval mode (its ``test_step``).
        loader: Batches with ``gt_sem_seg`` in their data samples.
        ignore_index (int): Unlabelled pixels, dropped.
        max_pixels_per_image (int, optional): Keep at most this many
            labelled pixels of each image, drawn at random (``seed``), to
            bound memory on large images.

    Returns:
        tuple: ``logits`` (float32, ``(pixels, classes)``) and ``labels``
        (int64, ``(pixels,)``).

    Raises:
        ValueError: When the model predicts a single (sigmoid) channel,
            whose ``seg_logits`` are probabilities, or there is no image.
    """
    rng = np.random.default_rng(seed)
    bar = progress_bar(len(loader), 'logits') if show_progress else None
    all_logits, all_labels = [], []
    with torch.no_grad():
        for batch in loader:
            for sample in model.test_step(batch):
                logits = sample.seg_logits.data.float().cpu().numpy()
                if len(logits) < 2:
                    raise ValueError(
                        'the segmentor predicts one sigmoid channel: its '
                        'decode_head.threshold is the bias to set')
                label = sample.gt_sem_seg.data.cpu().numpy().reshape(-1)
                if logits[0].size != label.size:
                    raise ValueError(
                        f'{sample.metainfo.get("img_path", "an image")}: '
                        f'logits of {logits.shape[1:]} pixels against a '
                        f'label map of {sample.gt_sem_seg.shape}; the '
                        'pipeline must keep the label at the original size '
                        '(as mmseg\'s test pipelines do)')
                logits = logits.reshape(len(logits), -1).T
                keep = np.flatnonzero(label != ignore_index)
                if max_pixels_per_image and \
                        len(keep) > max_pixels_per_image:
                    keep = np.sort(rng.choice(keep, max_pixels_per_image,
                                              replace=False))
                all_logits.append(logits[keep].astype(np.float32))
                all_labels.append(label[keep].astype(np.int64))
            if bar is not None:
                bar.update()
    if not all_labels:
        raise ValueError('the dataloader gave no image')
    return np.concatenate(all_logits), np.concatenate(all_labels)


def load_segmentor(cfg, checkpoint: str):
    """``cfg.model`` built on the CPU in eval mode with ``checkpoint``'s
    weights (no pretrained backbone is loaded first). A
    ``BiasedEncoderDecoder`` is built without its bias, so its logits are
    the trained network's own.

    Raises:
        FileNotFoundError: When ``checkpoint`` does not exist.
        ValueError: When its weights do not fit the model.
    """
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmseg.registry import MODELS
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pop('pretrained', None)
    model_cfg.pop('logit_bias', None)
    model = MODELS.build(model_cfg)
    try:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                        logger='silent')
    except RuntimeError as error:
        keys = [line for line in str(error).splitlines() if 'keys' in line]
        raise ValueError(
            f'checkpoint {checkpoint} does not fit the model of '
            f'{cfg.filename}: {"; ".join(keys)[:400] or error} (pass the '
            'config the checkpoint was trained with)') from error
    return model.eval()


def ignore_index(cfg) -> int:
    """The label value ``cfg``'s val evaluator ignores (mmseg's 255 when
    it names none)."""
    evaluators = cfg.get('val_evaluator') or {}
    for evaluator in evaluators if isinstance(evaluators, (list, tuple)) \
            else [evaluators]:
        if 'ignore_index' in evaluator:
            return int(evaluator['ignore_index'])
    return 255


def calibrate(cfg, checkpoint: str, mode: str = 'val',
              stream_batches: int = 200,
              max_pixels_per_image: Optional[int] = 16384) -> Dict:
    """Logit biases for ``checkpoint`` under ``cfg``.

    Args:
        cfg (Config): A segmentor config with an ``EncoderDecoder`` model.
        checkpoint (str): Its trained weights.
        mode (str): ``'val'`` fits the biases that maximise mIoU on
            ``cfg.val_dataloader`` (:func:`fit_logit_bias`); ``'prior'``
            sets the label-shift correction from ``stream_batches`` of
            ``cfg.train_dataloader`` to the real training samples
            (:func:`prior_shift_bias`).
        stream_batches (int): Training batches counted in ``'prior'``.
        max_pixels_per_image (int, optional): Val pixels drawn from each
            image (:func:`collect_logits`), which bounds the memory of the
            fit; ``None`` keeps them all.

    Returns:
        dict: ``mode``, ``bias`` and, for ``'val'``, ``pixels``,
        ``miou_before`` / ``miou_after`` (on those pixels); for
        ``'prior'``, ``stream_counts`` and ``real_counts``.

    Raises:
        ValueError: For another mode, a model that is not an
            ``EncoderDecoder``, or one whose decode head has a single
            sigmoid channel.
    """
    from mmengine.runner import Runner
    if mode not in ('val', 'prior'):
        raise ValueError(f'mode {mode!r}: use "val" or "prior"')
    if str(cfg.model.get('type')).split('.')[-1] not in SEGMENTOR_TYPES:
        raise ValueError(
            f'model type {cfg.model.get("type")!r} in {cfg.filename}: logit '
            f'biases apply to {" or ".join(SEGMENTOR_TYPES)} segmentors')
    head = cfg.model.decode_head
    if (head.get('out_channels') or head.num_classes) == 1:
        raise ValueError(
            f'the decode head of {cfg.filename} has one sigmoid channel: '
            'it decides by decode_head.threshold, so set that threshold '
            '(a bias b on its logit equals the threshold '
            'sigmoid(logit(threshold) - b))')
    if mode == 'val':
        model = load_segmentor(cfg, checkpoint)
        logits, labels = collect_logits(
            model, Runner.build_dataloader(cfg.val_dataloader),
            ignore_index(cfg), max_pixels_per_image)
        return dict(mode=mode, pixels=len(labels),
                    **fit_logit_bias(logits, labels))
    return dict(mode=mode, **stream_prior(cfg, stream_batches))


def stream_prior(cfg, stream_batches: int = 200, seed: int = 0,
                 real_counts: Optional[Sequence[int]] = None) -> Dict:
    """:func:`prior_shift_bias` of ``cfg``'s training stream against the
    real training samples: ``stream_batches`` batches of
    ``cfg.train_dataloader`` (its sampler seeded by ``seed``) against one
    pass over its real samples (:func:`real_loader`), or against
    ``real_counts`` (for a stream with no real sample).

    Returns:
        dict: ``bias``, ``stream_batches``, ``stream_counts`` and
        ``real_counts``.
    """
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    train = Runner.build_dataloader(cfg.train_dataloader, seed=seed)
    num_classes = cfg.model.decode_head.num_classes
    ignore = ignore_index(cfg)
    stream = stream_class_counts(train, num_classes, stream_batches,
                                 ignore)
    if real_counts is None:
        try:  # one by one: every real sample, none dropped
            real = stream_class_counts(real_loader(train, 1, seed),
                                       num_classes, ignore_index=ignore)
        except ValueError as error:
            raise ValueError(f'{error}; pass the real samples\' class '
                             'counts (real_counts) instead') from error
    else:
        real = np.asarray(real_counts)
    classes = train.dataset.metainfo.get('classes')
    return dict(bias=prior_shift_bias(stream, real, classes),
                stream_batches=stream_batches,
                stream_counts=stream.tolist(), real_counts=real.tolist())


def write_calibrated_config(config: str, bias: Sequence[float], out: str,
                            note: str = '', cfg=None) -> str:
    """Write ``out``, a config that predicts as ``config`` with
    :class:`BiasedEncoderDecoder` and ``bias``; returns ``out``.

    It inherits ``config`` (``_base_``), or, given ``cfg`` (``config``
    loaded with ``--cfg-options``), holds all of ``cfg`` resolved, so that
    the options the bias was fitted under stay with it.

    Raises:
        ValueError: When ``out`` is not a ``.py`` file.
    """
    from dldm_mmseg.utils.io import atomic_open
    if not out.endswith('.py'):
        raise ValueError(f'{out}: the calibrated config must be a .py file')
    lines = [f'# {note}'] if note else []
    if cfg is None:
        base = osp.relpath(osp.abspath(config),
                           osp.dirname(osp.abspath(out)) or '.')
        values = ', '.join(repr(float(b)) for b in bias)  # every digit
        lines += [f'_base_ = [{base!r}]',
                  f"model = dict(type='BiasedEncoderDecoder', "
                  f'logit_bias=[{values}])', '']
        text = '\n'.join(lines)
    else:
        cfg = copy.deepcopy(cfg)
        cfg.model.type = 'BiasedEncoderDecoder'
        cfg.model.logit_bias = [float(b) for b in bias]
        text = '\n'.join(lines + [cfg.dump()])
    with atomic_open(out) as f:
        f.write(text)
    return out
