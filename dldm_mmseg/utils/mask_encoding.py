"""Label maps as the pixels a mask VAE autoencodes: palette colours (RGB, what
a pretrained Stable Diffusion VAE takes) or one channel per class
(``'onehot'``, for a preset VAE fitted from scratch).

One-hot masks have no colours to blend: where two classes meet, a decoder's
blend of their channels still has its largest value in one of the two, so
the argmax cannot turn a border into a third class (as the nearest palette
colour can, see :func:`~dldm_mmseg.utils.palette.blend_conflicts`). Ignore
pixels get a channel of their own, the last one.
"""
import torch
import torch.nn.functional as F

from dldm_mmseg.utils.palette import IGNORE_INDEX

ENCODINGS = ('rgb', 'onehot')


def onehot_channels(num_classes: int) -> int:
    """Channels of a one-hot mask: one per class plus ignore."""
    return num_classes + 1


def onehot_allowed(num_classes: int) -> bool:
    """Whether masks of ``num_classes`` classes may be one-hot: not for 2
    classes, whose one-hot masks (with ignore) have 3 channels, as RGB
    masks do, so a folder could not say which it holds."""
    return onehot_channels(num_classes) != 3


def check_onehot_classes(num_classes: int, what: str) -> None:
    """Refuse one-hot masks where :func:`onehot_allowed` says no.

    Raises:
        ValueError: Naming ``what`` asked for it and what to use instead.
    """
    if not onehot_allowed(num_classes):
        raise ValueError(
            f'{what}: one-hot masks of {num_classes} classes have 3 '
            'channels (classes + ignore), as RGB masks do, so a saved model '
            'could not tell which it takes; keep RGB masks for 2 classes (a '
            'blend of two colours has no third class to turn into)')


def encoding_of(vae, num_classes: int) -> str:
    """``'onehot'`` for a VAE with :func:`onehot_channels` input channels,
    ``'rgb'`` for one with 3; an error naming both otherwise."""
    channels = vae.config.in_channels
    if channels == 3:
        return 'rgb'
    if channels == onehot_channels(num_classes):
        return 'onehot'
    raise ValueError(
        f'a mask VAE with {channels} input channels fits neither RGB masks '
        f'(3) nor one-hot masks of these {num_classes} classes '
        f'({onehot_channels(num_classes)}); fit one for this dataset with '
        'tools/fit_vae.py')


def onehot_pixels(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``N x H x W`` train ids (255 = ignore) -> ``N x (C + 1) x H x W`` in
    {-1, 1}, ignore in the last channel."""
    index = labels.long().clone()
    index[index == IGNORE_INDEX] = num_classes
    if (index < 0).any() or (index > num_classes).any():
        raise ValueError(f'labels outside 0..{num_classes - 1} and '
                         f'{IGNORE_INDEX}: {index.unique().tolist()[:10]}')
    onehot = F.one_hot(index, onehot_channels(num_classes))
    return onehot.permute(0, 3, 1, 2).float() * 2 - 1


def onehot_logits(decoded: torch.Tensor) -> torch.Tensor:
    """Class logits (``C + 1`` columns, ignore last) of decoded one-hot
    masks: a pixel decoded exactly on its class is 4 nats more likely that
    class than any other, as with
    :func:`~dldm_mmseg.utils.palette.palette_logits` at its default
    temperature."""
    return decoded.float() * 2


def onehot_index(decoded: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Decoded ``N x (C + 1) x H x W`` -> ``N x H x W`` uint8 train ids by
    the largest channel (the ignore channel -> 255)."""
    index = decoded.argmax(1)
    index[index == num_classes] = IGNORE_INDEX
    return index.to(torch.uint8)
