"""Mask-image consistency with a reference segmentor trained on real data
(the FreeMask idea): where a confident reference prediction disagrees with
the generated mask, the mask is probably wrong there."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.device import get_device

from mmseg.evaluation import IoUMetric


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
        device (str, optional): Device of the reference model.
    """

    def __init__(self, config: str, checkpoint: Optional[str] = None,
                 min_confidence: float = 0.9, max_disagreement: float = 0.3,
                 mode: str = 'ignore', device: Optional[str] = None,
                 model=None) -> None:
        from mmseg.apis import init_model
        if mode not in ('ignore', 'drop'):
            raise ValueError(f'consistency mode must be ignore or drop, got '
                             f'{mode!r}')
        device = device or get_device()
        self.model = model or init_model(config, checkpoint, device=device)
        self.min_confidence = min_confidence
        self.max_disagreement = max_disagreement
        self.mode = mode

    def predict(self, images: Sequence[np.ndarray]):
        """Reference class indices and confidences (``N x H x W``)."""
        from mmseg.apis import inference_model
        # mmseg's inference expects BGR arrays, as read by mmcv
        samples = inference_model(self.model, [im[..., ::-1].copy()
                                               for im in images])
        labels, confidence = [], []
        for sample in samples:
            probs = torch.softmax(sample.seg_logits.data.float(), dim=0)
            conf, pred = probs.max(0)
            labels.append(pred.cpu().numpy())
            confidence.append(conf.cpu().numpy())
        return np.stack(labels), np.stack(confidence)

    def __call__(self, images: Sequence[np.ndarray],
                 masks: Sequence[np.ndarray]) -> List[Dict[str, object]]:
        """Check each pair; returns per sample the (possibly edited) mask
        (class indices, 255 = ignore), ``disagreement`` (share of valid
        pixels) and ``consistency_passed``."""
        pred, conf = self.predict(images)
        results = []
        for mask, p, c in zip(masks, pred, conf):
            valid = mask != 255
            disagree = valid & (p != mask) & (c >= self.min_confidence)
            share = float(disagree.sum() / max(valid.sum(), 1))
            out = mask.copy()
            if self.mode == 'ignore':
                out[disagree] = 255
            results.append(dict(mask=out, disagreement=round(share, 6),
                                consistency_passed=share <=
                                self.max_disagreement))
        return results


def consistency_areas(pred, mask, num_classes: int):
    """Per-class intersection and union (pixels) of a reference prediction
    and the mask an image was painted for (255 = ignore), as mmseg's
    ``IoUMetric`` counts them."""
    intersect, union, _, _ = IoUMetric.intersect_and_union(
        torch.as_tensor(np.asarray(pred, np.int64)),
        torch.as_tensor(np.asarray(mask, np.int64)), num_classes, 255)
    return intersect.numpy(), union.numpy()


def consistency_scores(intersect: np.ndarray, union: np.ndarray,
                       classes: Sequence[str]) -> Dict[str, float]:
    """``consistency_mIoU`` and ``consistency_IoU.<class>`` (percent; NaN
    for a class in neither the masks nor the predictions) from summed
    areas."""
    iou = np.where(union > 0, intersect / np.maximum(union, 1), np.nan)
    result = dict(consistency_mIoU=float(np.nanmean(iou) * 100))
    result.update({f'consistency_IoU.{c}': float(v * 100)
                   for c, v in zip(classes, iou)})
    return result
