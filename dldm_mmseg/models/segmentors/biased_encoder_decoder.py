"""An ``EncoderDecoder`` whose predictions add a fixed bias per class.

A segmentor trained on a stream whose class shares differ from the
images it will see (real tiles mixed with synthetic ones drawn toward
rare classes, or oversampled) learns the stream's priors. Adding
``log(target prior) - log(training prior)`` to its logits is the
standard correction for such a label shift (Saerens et al. 2002, logit
adjustment); a bias fitted on labelled val tiles moves the class
thresholds directly. :mod:`dldm_mmseg.evaluation.logit_calibration`
computes both, and ``tools/calibrate_logits.py`` writes a config that
applies them.
"""
from typing import Optional, Sequence

import torch
from mmengine.structures import PixelData
from torch import Tensor

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS


@MODELS.register_module()
class BiasedEncoderDecoder(EncoderDecoder):
    """mmseg's ``EncoderDecoder`` with ``logit_bias`` added to the
    predicted logits before the per-pixel decision.

    Training and the loss are unchanged; only ``predict`` (validation,
    test, inference) sees the bias, added to each image's logits at its
    original size. The ``seg_logits`` it returns include the bias. In a
    config that inherits a stock one::

        model = dict(type='BiasedEncoderDecoder', logit_bias=[0.0, -0.4])

    Args:
        logit_bias (Sequence[float], optional): One value per output
            channel of the decode head (one for a head with a single
            sigmoid channel, where it shifts the threshold's logit).
            ``None`` predicts as ``EncoderDecoder``.
        **kwargs: ``EncoderDecoder``'s arguments.

    Raises:
        ValueError: When ``logit_bias`` does not hold one finite value per
            output channel.
    """

    def __init__(self, logit_bias: Optional[Sequence[float]] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if logit_bias is None:
            self.logit_bias = None
            return
        bias = torch.as_tensor(list(logit_bias), dtype=torch.float64)
        channels = self.decode_head.out_channels
        if bias.ndim != 1 or len(bias) != channels or \
                not torch.isfinite(bias).all():
            raise ValueError(
                f'logit_bias {list(logit_bias)} must hold one finite value '
                f'for each of the decode head\'s {channels} output '
                'channels; fit it with tools/calibrate_logits.py')
        self.register_buffer('logit_bias', bias, persistent=False)

    def postprocess_result(self, seg_logits: Tensor,
                           data_samples=None):
        """``EncoderDecoder``'s results, with the bias added to each
        image's logits at its original size and the decision taken in
        float64, so it agrees pixel for pixel with
        :func:`~dldm_mmseg.evaluation.logit_calibration.per_class_iou` on
        the logits the unbiased model returns."""
        if self.logit_bias is None:
            return super().postprocess_result(seg_logits, data_samples)
        bias = self.logit_bias.to(seg_logits.device)
        if len(bias) == 1:  # one sigmoid channel: shift its logit
            return super().postprocess_result(
                seg_logits + bias.to(seg_logits.dtype).view(1, -1, 1, 1),
                data_samples)
        data_samples = super().postprocess_result(seg_logits, data_samples)
        for sample in data_samples:
            logits = sample.seg_logits.data
            shifted = logits.double() + bias.double().view(-1, 1, 1)
            sample.set_data(dict(
                seg_logits=PixelData(data=shifted.to(logits.dtype)),
                pred_sem_seg=PixelData(
                    data=shifted.argmax(dim=0, keepdim=True))))
        return data_samples
