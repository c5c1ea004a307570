"""The floor under every stage-1 share number: how far a mask VAE's own
round trip (draw a real mask in its colours, encode, decode, quantise) moves
each class's share. Stage 1 draws through the same decoder and quantiser, so
its mCPE cannot go below this however well it is trained."""
import glob
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from dldm_mmseg.datasets.transforms import from_unit_range
from dldm_mmseg.utils.label_stats import (read_label_map, class_shares,
                                          to_train_ids)
from dldm_mmseg.utils.mask_encoding import (encoding_of, onehot_index,
                                            onehot_pixels)
from dldm_mmseg.utils.palette import (IGNORE_INDEX, index_to_rgb,
                                      nearest_palette_index_torch)

#: a class whose mean share moves by more than this many points is named
SHARE_SHIFT_WARNING = 3.0


def held_out_labels(data_root: str, reduce_zero_label: bool,
                    splits: Sequence[str] = ('val', 'train')
                    ) -> tuple:
    """Train-id label maps of the first split of ``splits`` that has any
    (``ann_dir/<split>/*.png``), and that split's name."""
    for split in splits:
        paths = sorted(glob.glob(osp.join(data_root, 'ann_dir', split,
                                          '*.png')))
        if paths:
            return [to_train_ids(read_label_map(p), reduce_zero_label)
                    for p in paths], split
    raise FileNotFoundError(
        f'no label maps under {osp.join(data_root, "ann_dir")}/'
        f'{{{",".join(splits)}}}; the round trip needs an mmseg-format '
        'dataset (tools/prepare_raster.py or a preparation tool writes one)')


def mask_round_trip(vae, labels: Sequence[np.ndarray], palette,
                    classes: Sequence[str],
                    quantise: Optional[Callable] = None,
                    batch_size: int = 16) -> Dict[str, float]:
    """Encode (posterior mean) and decode each mask drawn in ``palette``,
    quantise it back to classes and compare the class shares.

    Args:
        vae: A diffusers ``AutoencoderKL`` taking ``[-1, 1]`` RGB masks, or
            one-hot masks (``C + 1`` channels,
            :mod:`~dldm_mmseg.utils.mask_encoding`), told by its input
            channels.
        labels: Train-id label maps (255 = ignore), all of one size.
        palette: The colours the masks are drawn in (the generation
            palette of the generator the VAE serves).
        classes: Class names, one per palette colour.
        quantise (callable, optional): ``(uint8 N x H x W x 3 tensor) ->
            N x H x W`` class indices (255 = ignore), for an RGB VAE.
            Defaults to the nearest palette colour; a one-hot VAE's masks
            take their largest channel.
        batch_size (int): Masks per VAE call. Defaults to 16.

    Returns:
        dict: ``mCPE`` (mean over masks and classes of the absolute share
        change, points), ``CPE.<class>``, ``share_shift.<class>`` (mean
        signed change: positive where the round trip adds the class),
        ``pixel_accuracy`` (percent of valid pixels back in their class)
        and ``masks``.
    """
    return mask_round_trips(vae, labels, palette, classes,
                            dict(result=quantise), batch_size)['result']


@torch.no_grad()
def mask_round_trips(vae, labels: Sequence[np.ndarray], palette,
                     classes: Sequence[str],
                     quantisers: Dict[str, Optional[Callable]],
                     batch_size: int = 16) -> Dict[str, dict]:
    """:func:`mask_round_trip` with several quantisers (name -> callable,
    None for the default) of one decoding: each batch goes through the VAE
    once. Returns a result per name."""
    num = len(classes)
    onehot = encoding_of(vae, num) == 'onehot'
    quantisers = {name: q or (lambda rgb: nearest_palette_index_torch(
        rgb, palette)) for name, q in quantisers.items()}
    device = next(vae.parameters()).device
    dtype = next(vae.parameters()).dtype
    errors = {name: [] for name in quantisers}
    hits = dict.fromkeys(quantisers, 0)
    total = 0
    for start in range(0, len(labels), batch_size):
        batch = np.stack(labels[start:start + batch_size])
        if onehot:
            pixels = onehot_pixels(torch.as_tensor(batch, device=device),
                                   num)
        else:
            pixels = torch.as_tensor(index_to_rgb(batch, palette),
                                     device=device).permute(0, 3, 1, 2)
            pixels = pixels.float() / 127.5 - 1
        decoded = vae.decode(vae.encode(pixels.to(dtype)).latent_dist.mean
                             ).sample.float()
        valid = batch != IGNORE_INDEX
        total += int(valid.sum())
        truth = [class_shares(t, num) for t in batch]
        for name, quantise in quantisers.items():
            pred = (onehot_index(decoded, num) if onehot else
                    quantise(from_unit_range(decoded))).cpu().numpy()
            hits[name] += int((pred[valid] == batch[valid]).sum())
            back = np.where(valid, pred, IGNORE_INDEX)
            errors[name] += [class_shares(b, num) - t
                             for b, t in zip(back, truth)]
    return {name: _scores(np.asarray(errors[name]) * 100.0, hits[name],
                          total, classes) for name in quantisers}


def _scores(errors: np.ndarray, hits: int, total: int,
            classes: Sequence[str]) -> Dict[str, float]:
    """mCPE, pixel accuracy and per-class CPE and share shift from the
    per-mask share changes (points, masks x classes)."""
    result = dict(mCPE=float(np.abs(errors).mean()),
                  pixel_accuracy=100.0 * hits / max(total, 1),
                  masks=len(errors))
    for c, name in enumerate(classes):
        result[f'CPE.{name}'] = float(np.abs(errors[:, c]).mean())
        result[f'share_shift.{name}'] = float(errors[:, c].mean())
    return result


def shifted_classes(result: Dict[str, float],
                    threshold: float = SHARE_SHIFT_WARNING) -> List[str]:
    """``'<class> +16.2'`` for each class whose mean share moves by more
    than ``threshold`` points in a :func:`mask_round_trip` result."""
    return [f'{key.split(".", 1)[1]} {value:+.1f}'
            for key, value in result.items()
            if key.startswith('share_shift.') and abs(value) > threshold]


def round_trip_text(result: Dict[str, float], split: str) -> str:
    """One line for logs and reports."""
    shifted = shifted_classes(result)
    return (f'round trip of {result["masks"]} {split} masks (encode, '
            f'decode, quantise): mCPE {result["mCPE"]:.2f}, '
            f'{result["pixel_accuracy"]:.1f}% of pixels back in their '
            'class; ' + (f'shares moved by more than '
                         f'{SHARE_SHIFT_WARNING:g} points: '
                         f'{", ".join(shifted)}' if shifted else
                         f'no class share moved by more than '
                         f'{SHARE_SHIFT_WARNING:g} points') +
            ' (the floor of stage-1 mCPE with this VAE)')
