"""Mask-image consistency with a reference segmentor trained on real data
(the FreeMask idea): where a confident reference prediction disagrees with
the generated mask, the mask is probably wrong there."""
import glob
import os.path as osp
import warnings
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.device import get_device
from PIL import Image

from mmseg.evaluation import IoUMetric
from dldm_mmseg.utils.label_stats import read_label_map, to_train_ids


class ConsistencyChecker:
    """Compare generated masks with a reference mmseg model's predictions.

    Args:
        config (str): mmseg config of the reference model.
        checkpoint (str): Its weights (trained on the real set).
        min_confidence (float): A pixel disagrees only where the reference
            is at least this confident. Defaults to 0.9.
        max_disagreement (float): A sample passes when at most this share
            of its valid pixels disagree. Defaults to 0.3.
        mode (str): ``'ignore'``: disagreeing pixels become ignore in the
            saved mask; ``'drop'``: the mask is kept as generated and a
            failing sample is flagged ``consistency_passed: false`` in the
            manifest, which ``DiffusionSynthDataset`` leaves out.
            Defaults to ``'ignore'``.
        rule (str): When a pixel disagrees. ``'confidence'``: the reference
            predicts another class with at least ``min_confidence``.
            ``'class_loss'`` (FreeMask's filter): the reference's
            cross-entropy of the mask's class at the pixel is more than
            ``loss_multiple`` times the mean loss of that class on the real
            ``real_split`` pixels of ``real_root``, so a class the
            reference finds hard everywhere keeps its pixels, as does a
            class absent from those labels (nothing to compare with).
            Defaults to ``'confidence'``.
        loss_multiple (float): See ``rule``. Defaults to 2.0.
        real_root (str, optional): mmseg-format real set whose
            ``img_dir/<real_split>`` / ``ann_dir/<real_split>`` pairs give
            the per-class mean losses of ``rule='class_loss'`` (see
            :func:`class_covering_pairs` for which ones).
        reduce_zero_label (bool): How ``real_root``'s label files hold
            train ids. Defaults to True.
        max_real (int): Real pairs the mean losses are measured on, at
            most. Defaults to 64.
        min_class_pixels (int): The pairs hold at least this many pixels
            of each class of the ``real_split`` labels (all of them for a
            class with fewer), rarest class first, as far as ``max_real``
            allows. Defaults to 1024.
        filter_classes (Sequence[str], optional): The classes whose pixels
            may disagree, by name (the reference's ``dataset_meta``
            classes); the pixels of the others are always kept, under
            either rule. Defaults to None: every class.
        real_split (str): ``'train'`` (FreeMask's: the pixels the reference
            learned from) or a split it did not train on (``'val'``): the
            reference's loss on pixels it has not seen says how hard a
            class is, where on its own train pixels a rare class it
            memorised looks easy. Defaults to ``'train'``.
        device (str, optional): Device of the reference model.
    """

    def __init__(self, config: str, checkpoint: Optional[str] = None,
                 min_confidence: float = 0.9, max_disagreement: float = 0.3,
                 mode: str = 'ignore', device: Optional[str] = None,
                 model=None, rule: str = 'confidence',
                 loss_multiple: float = 2.0,
                 real_root: Optional[str] = None,
                 reduce_zero_label: bool = True,
                 max_real: int = 64, min_class_pixels: int = 1024,
                 real_split: str = 'train',
                 filter_classes: Optional[Sequence[str]] = None) -> None:
        from mmseg.apis import init_model
        if mode not in ('ignore', 'drop'):
            raise ValueError(f'consistency mode must be ignore or drop, got '
                             f'{mode!r}')
        if rule not in RULES:
            raise ValueError(f'consistency rule must be one of {RULES}, got '
                             f'{rule!r}')
        if rule == 'class_loss':
            if real_root is None:
                raise ValueError(
                    "consistency rule='class_loss' needs real_root: the "
                    'real set whose train pixels give each class its mean '
                    'loss under the reference model')
            if loss_multiple <= 0:
                raise ValueError(f'loss_multiple must be > 0, got '
                                 f'{loss_multiple}')
            if max_real < 1 or min_class_pixels < 0:
                raise ValueError(
                    f'max_real must be >= 1 and min_class_pixels >= 0, got '
                    f'{max_real} and {min_class_pixels}')
            check_real_split(real_split)
        device = device or get_device()
        self.model = model or init_model(config, checkpoint, device=device)
        self.min_confidence = min_confidence
        self.max_disagreement = max_disagreement
        self.mode = mode
        self.rule = rule
        self.loss_multiple = loss_multiple
        self.real_root = real_root
        self.reduce_zero_label = reduce_zero_label
        self.max_real = max_real
        self.min_class_pixels = min_class_pixels
        self.real_split = real_split
        self.filtered = None if filter_classes is None else \
            self._class_ids(filter_classes, config)
        self._class_loss = None

    @property
    def class_names(self) -> List[str]:
        """The reference's class names (its ``dataset_meta``); empty when
        its checkpoint names none."""
        return list((getattr(self.model, 'dataset_meta', None) or {}).get(
            'classes') or [])

    def _class_ids(self, names: Sequence[str], config) -> np.ndarray:
        """The reference's indices of the class ``names``."""
        classes = self.class_names
        if isinstance(names, str) or not names:
            raise ValueError(
                f'consistency filter_classes must be a non-empty list of '
                f'class names, got {names!r}')
        unknown = [n for n in names if n not in classes]
        if unknown:
            raise ValueError(
                f'consistency filter_classes {unknown} are not classes of '
                f'the reference segmentor {config} ({classes}): name '
                'classes it segments')
        return np.array(sorted({classes.index(n) for n in names}))

    def probabilities(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """The reference's class probabilities, ``N x C x H x W``."""
        from mmseg.apis import inference_model
        # mmseg's inference expects BGR arrays, as read by mmcv
        samples = inference_model(self.model, [im[..., ::-1].copy()
                                               for im in images])
        return np.stack([torch.softmax(s.seg_logits.data.float(), dim=0)
                         .cpu().numpy() for s in samples])

    def predict(self, images: Sequence[np.ndarray]):
        """Reference class indices and confidences (``N x H x W``)."""
        probs = self.probabilities(images)
        return probs.argmax(1), probs.max(1)

    @property
    def class_loss(self) -> np.ndarray:
        """Mean cross-entropy of each class on ``real_split`` pixels (the
        pairs of :func:`class_covering_pairs`), measured once; ``inf``, so
        its pixels are kept, for a class those pairs lack (one absent from
        the ``real_split`` labels, or one beyond ``max_real``)."""
        if self._class_loss is None:
            pairs = class_covering_pairs(
                self.real_root, self.real_split, self.reduce_zero_label,
                self.max_real, self.min_class_pixels)
            sums = total = 0
            for p, label in self.labelled_probabilities(pairs):
                loss, valid = pixel_loss(p, label)
                sums = sums + np.bincount(label[valid], loss[valid],
                                          minlength=len(p))
                total = total + np.bincount(label[valid], minlength=len(p))
            self._class_loss = np.where(total > 0,
                                        sums / np.maximum(total, 1), np.inf)
            lacking = np.flatnonzero(total == 0).tolist()
            if lacking:
                warnings.warn(
                    f'consistency rule class_loss: classes {lacking} are in '
                    f'none of the {len(pairs)} {self.real_split} pairs of '
                    f'{self.real_root} it measured; their synthetic pixels '
                    'are all kept (raise max_real if the split holds them)')
        return self._class_loss

    def labelled_probabilities(self, pairs: Sequence[tuple]):
        """The reference's class probabilities (``C x H x W``) and the
        train-id label map of each pair, read and run 8 at a time.

        Args:
            pairs (Sequence[tuple]): ``(image, label)`` paths
                (:func:`real_pair_paths`).

        Yields:
            tuple: ``(probabilities, label map)``.

        Raises:
            ValueError: A label file holds a class beyond the reference's.
        """
        for start in range(0, len(pairs), 8):
            images, labels = load_pairs(pairs[start:start + 8],
                                        self.reduce_zero_label)
            for p, label, (_, path) in zip(self.probabilities(images),
                                           labels, pairs[start:]):
                stray = label[(label != 255) & (label >= len(p))]
                if stray.size:
                    raise ValueError(
                        f'{path} holds label {int(stray[0])}, beyond the '
                        f'{len(p)} classes of the reference segmentor: '
                        'check reduce_zero_label and that real_root is '
                        'the set the reference was trained on')
                yield p, label

    def __call__(self, images: Sequence[np.ndarray],
                 masks: Sequence[np.ndarray]) -> List[Dict[str, object]]:
        """Check each pair; returns per sample the (possibly edited) mask
        (class indices, 255 = ignore), ``disagreement`` (share of valid
        pixels) and ``consistency_passed``."""
        probs = self.probabilities(images)
        results = []
        for mask, p in zip(masks, probs):
            valid = mask != 255
            if self.rule == 'class_loss':
                loss, _ = pixel_loss(p, mask)
                limit = self.loss_multiple * self.class_loss[
                    np.where(valid, mask, 0)]
                disagree = valid & (loss > limit)
            else:
                disagree = valid & (p.argmax(0) != mask) & \
                    (p.max(0) >= self.min_confidence)
            if self.filtered is not None:
                disagree &= np.isin(mask, self.filtered)
            share = float(disagree.sum() / max(valid.sum(), 1))
            out = mask.copy()
            if self.mode == 'ignore':
                out[disagree] = 255
            results.append(dict(
                mask=out, disagreement=round(share, 6),
                consistency_passed=share <= self.max_disagreement,
                disagreeing_pixels=np.bincount(
                    mask[disagree].astype(np.int64),
                    minlength=len(p)).tolist()))
        return results


RULES = ('confidence', 'class_loss')


def check_real_split(split: str) -> None:
    """Refuse the test split as the class-loss rule's yardstick: its
    labels would set the thresholds of a set that is scored on them.

    Args:
        split (str): The ``real_split`` asked for.

    Raises:
        ValueError: For ``'test'``.
    """
    if split == 'test':
        raise ValueError(
            "consistency real_split='test' would let the test labels set "
            "the filter that the test split then scores; use 'train' or "
            "'val'")


def differentiable_logits(model) -> Callable:
    """An mmseg segmentor as a differentiable function of images, for
    guidance: ``N x 3 x H x W`` RGB images in [-1, 1] -> ``N x C x H x W``
    class logits at the images' size, normalised and channel-ordered as the
    model's data preprocessor does for the BGR arrays of
    ``inference_model``. Assumes what the project's segmentor configs do:
    whole-image inference (``test_cfg.mode='whole'``), no test-time resize
    or padding. The model's weights stop taking gradients."""
    pre = model.data_preprocessor
    model.requires_grad_(False)

    def logits(images: torch.Tensor) -> torch.Tensor:
        x = (images.float() + 1) * 127.5
        if not pre._channel_conversion:  # the model reads BGR as stored
            x = x.flip(1)
        if pre._enable_normalize:
            x = (x - pre.mean) / pre.std
        size = tuple(x.shape[-2:])
        metas = [dict(img_shape=size, ori_shape=size, pad_shape=size)
                 for _ in range(len(x))]
        return model.encode_decode(x, metas)

    return logits


def pixel_loss(probs: np.ndarray, label: np.ndarray):
    """Per-pixel cross-entropy ``-log p(label)`` of ``C x H x W``
    probabilities (0 at ignore pixels), and the valid-pixel mask."""
    valid = label != 255
    index = np.where(valid, label, 0).astype(np.int64)
    chosen = np.take_along_axis(probs, index[None], 0)[0]
    return np.where(valid, -np.log(np.clip(chosen, 1e-12, None)), 0.0), \
        valid


def real_pair_paths(root: str, split: str) -> List[tuple]:
    """The pairs of an mmseg-format set's split.

    Args:
        root (str): The set, with ``img_dir/<split>`` and
            ``ann_dir/<split>``.
        split (str): ``'train'``, ``'val'``, ...

    Returns:
        list[tuple]: ``(image, label)`` paths: the split's images sorted
        by name, each with ``ann_dir/<split>/<name>.png``.

    Raises:
        FileNotFoundError: When the split holds no image.
    """
    paths = sorted(glob.glob(osp.join(root, 'img_dir', split, '*.*')))
    if not paths:
        raise FileNotFoundError(
            f'no images in {osp.join(root, "img_dir", split)}: expected an '
            'mmseg-format real set (img_dir/<split>, ann_dir/<split>)')
    return [(path, osp.join(root, 'ann_dir', split, osp.splitext(
        osp.basename(path))[0] + '.png')) for path in paths]


def load_pairs(pairs: Sequence[tuple], reduce_zero_label: bool) -> tuple:
    """Read pairs.

    Args:
        pairs (Sequence[tuple]): ``(image, label)`` paths.
        reduce_zero_label (bool): How the label files hold train ids.

    Returns:
        tuple: The RGB images (``H x W x 3`` uint8) and the train-id label
        maps (255 = ignore).
    """
    images = [np.asarray(Image.open(image).convert('RGB'))
              for image, _ in pairs]
    labels = [to_train_ids(read_label_map(label), reduce_zero_label)
              for _, label in pairs]
    return images, labels


def real_pairs(root: str, split: str, reduce_zero_label: bool,
               max_num: int) -> tuple:
    """The first ``max_num`` RGB images of ``root``'s ``img_dir/<split>``
    (sorted by name) and their train-id label maps (``ann_dir/<split>/
    <name>.png``)."""
    return load_pairs(real_pair_paths(root, split)[:max_num],
                      reduce_zero_label)


def class_covering_pairs(root: str, split: str, reduce_zero_label: bool,
                         max_num: int, min_class_pixels: int) -> List[tuple]:
    """Pairs of a split chosen to hold every class.

    The first pairs by name alone would be one corner of a scene cut into
    tiles, and miss a class that lives elsewhere. So, as far as
    ``max_num`` allows: first the pair richest in each class, rarest class
    first; then, rarest first, the pairs richest in a class until they
    hold ``min_class_pixels`` of it (or all of it); then pairs spread
    evenly over the names.

    Args:
        root (str): The mmseg-format set.
        split (str): Its split read.
        reduce_zero_label (bool): How its label files hold train ids.
        max_num (int): Pairs chosen, at most.
        min_class_pixels (int): Pixels of each class sought; 0 spreads
            the pairs evenly over the names and nothing else.

    Returns:
        list[tuple]: ``(image, label)`` paths (:func:`real_pair_paths`),
        in name order.
    """
    pairs = real_pair_paths(root, split)
    counts = [np.bincount(label[label != 255].ravel().astype(np.int64))
              for label in (to_train_ids(read_label_map(path),
                                         reduce_zero_label)
                            for _, path in pairs)]
    width = max(len(c) for c in counts)
    counts = np.stack([np.pad(c, (0, width - len(c))) for c in counts])
    totals = counts.sum(0)
    rarest_first = [c for c in np.argsort(totals, kind='stable')
                    if totals[c]] if min_class_pixels > 0 else []
    chosen, held = [], np.zeros(width, np.int64)
    for c in rarest_first:  # every class, one pair each
        if len(chosen) < max_num and not held[c]:
            chosen.append(int(np.argmax(counts[:, c])))
            held += counts[chosen[-1]]
    for c in rarest_first:  # then min_class_pixels of each
        need = min(min_class_pixels, totals[c])
        for i in np.argsort(-counts[:, c], kind='stable'):
            if held[c] >= need or len(chosen) >= max_num or not counts[i, c]:
                break
            if i not in chosen:
                chosen.append(int(i))
                held += counts[i]
    rest = [i for i in range(len(pairs)) if i not in chosen]
    spare = min(max_num - len(chosen), len(rest))
    if spare > 0:
        chosen += [rest[round(k)] for k in
                   np.linspace(0, len(rest) - 1, spare)]
    return [pairs[i] for i in sorted(chosen)]


@torch.no_grad()
def vae_reconstructions(vae, images: Sequence[np.ndarray],
                        batch_size: int = 8) -> List[np.ndarray]:
    """``images`` (``H x W x 3`` uint8 RGB) through an image VAE: encoded
    (the latent mean), decoded and rounded to uint8. A segmentor's
    consistency on them is the ceiling of stage 2, which draws through
    the same decoder."""
    out = []
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(np.stack(images[start:start + batch_size]))
        x = batch.permute(0, 3, 1, 2).float().to(vae.device, vae.dtype)
        latents = vae.encode(x / 127.5 - 1).latent_dist.mode()
        decoded = vae.decode(latents).sample.float()
        out += list(((decoded + 1) * 127.5).round().clamp(0, 255).to(
            torch.uint8).permute(0, 2, 3, 1).cpu().numpy())
    return out


def consistency_areas(pred, mask, num_classes: int):
    """Per-class intersection, union, predicted and mask areas (pixels) of
    a reference prediction and the mask an image was painted for (255 =
    ignore), as mmseg's ``IoUMetric`` counts them."""
    return tuple(a.numpy() for a in IoUMetric.intersect_and_union(
        torch.as_tensor(np.asarray(pred, np.int64)),
        torch.as_tensor(np.asarray(mask, np.int64)), num_classes, 255))


def consistency_scores(intersect: np.ndarray, union: np.ndarray,
                       classes: Sequence[str],
                       pred_area: Optional[np.ndarray] = None,
                       mask_area: Optional[np.ndarray] = None
                       ) -> Dict[str, float]:
    """``consistency_mIoU`` and ``consistency_IoU.<class>`` (percent; NaN
    for a class in neither the masks nor the predictions) from summed
    areas; with the areas, which way the images miss their masks:
    ``consistency_recall.<class>`` (the share of the class's mask pixels
    the reference reads as the class) and ``consistency_precision.<class>``
    (the share of the pixels it reads as the class that the masks hold
    as the class), NaN where the area is 0."""
    def ratio(num, den):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)

    iou = ratio(intersect, union)
    result = dict(consistency_mIoU=float(np.nanmean(iou) * 100))
    result.update({f'consistency_IoU.{c}': float(v * 100)
                   for c, v in zip(classes, iou)})
    for name, area in (('recall', mask_area), ('precision', pred_area)):
        if area is not None:
            result.update({f'consistency_{name}.{c}': float(v * 100)
                           for c, v in zip(classes, ratio(intersect, area))})
    return result
