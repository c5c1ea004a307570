"""Fit the VAE of an architecture preset as an autoencoder of a dataset's
colour masks and images, so generators built from the preset
(``components=dict(preset='small', vae=OUT)``) start from a VAE that
reconstructs. Pretrained Stable Diffusion checkpoints need no such step.

The fit is an mmengine run (a ``VAEAutoencoder`` trained by ``Runner``;
logs and checkpoints in ``<out>_fit`` unless ``--work-dir``), the same as
``tools/train.py`` on a VAE config such as
``configs/demo/vae_masks_small_toy.py``.

It ends with the floor of stage-1 mCPE: the round trip (encode, decode,
quantise) of the held-out masks (``ann_dir/val``, else ``ann_dir/train``),
printed and written to ``<work dir>/round_trip.json``.

Example::

    python tools/fit_vae.py work_dirs/demo/data/toy_landcover \
        --preset small --out work_dirs/demo/vae --iters 400
"""
import argparse

from dldm_mmseg.models.generators.components import PRESETS, preset_vae
from dldm_mmseg.models.vae_fitting import CONTENTS, fit_vae
from dldm_mmseg.utils.source_dataset import (add_source_dataset_args,
                                             source_dataset_from_args)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data_root', help='mmseg-format dataset with '
                        'captions.jsonl')
    parser.add_argument('--out', required=True,
                        help='folder the fitted VAE is saved to')
    parser.add_argument('--preset', default='small',
                        choices=['tiny', 'small', 'sd15'],
                        help='architecture preset whose VAE is fitted '
                        '(default: small)')
    add_source_dataset_args(parser)
    parser.add_argument('--iters', type=int, default=400,
                        help='optimiser steps (default: 400)')
    parser.add_argument('--batch-size', type=int, default=16,
                        help='scenes per step (default: 16)')
    parser.add_argument('--lr', type=float, default=1e-3,
                        help='AdamW learning rate (default: 1e-3)')
    parser.add_argument('--kl-weight', type=float, default=1e-6,
                        help='weight of the KL term')
    parser.add_argument('--mask-ce-weight', type=float, default=0.1,
                        help='weight of the palette CE of reconstructed '
                        'masks (0: MSE only)')
    parser.add_argument('--crop-size', type=int, default=None,
                        help='train on random crops of this many pixels '
                        '(cheaper steps; the VAE is convolutional)')
    parser.add_argument('--class-balance', type=float, default=0.5,
                        help='weight pixels by class frequency ** -this '
                        '(0: plain MSE)')
    parser.add_argument('--content', default='both', choices=CONTENTS,
                        help='what the VAE autoencodes: masks (for the mask '
                        'generator), images (for the image generator) or '
                        'both; a preset needs one VAE per stage')
    parser.add_argument('--mask-encoding', default='rgb',
                        choices=['rgb', 'onehot'],
                        help='masks as palette colours (rgb, what a '
                        'pretrained SD VAE takes) or one channel per class '
                        'plus ignore (onehot: no colour blends; the mask '
                        'generator draws in it, the image generator needs '
                        'rgb; --content masks only)')
    parser.add_argument('--latent-channels', type=int, default=None,
                        help="latent channels instead of the preset's (4); "
                        'the image generator trained on this VAE gets a '
                        'UNet with as many')
    parser.add_argument('--scale-factor', type=int, default=None,
                        help="downsampling factor instead of the preset's "
                        "(4 for small): a power of 2, e.g. 2 on 32-pixel "
                        'tiles, so thin classes survive the round trip')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the preset weights and the crops')
    parser.add_argument('--work-dir', default=None,
                        help="the run's logs and checkpoints (default: "
                        '<out>_fit)')
    parser.add_argument('--resume', action='store_true',
                        help='continue from the last checkpoint in the work '
                        'dir')
    args = parser.parse_args(argv)
    for flag, value in (('--iters', args.iters),
                        ('--batch-size', args.batch_size),
                        ('--latent-channels', 1 if args.latent_channels
                         is None else args.latent_channels)):
        if value < 1:
            parser.error(f'{flag} must be >= 1, got {value}')
    if args.scale_factor is not None:
        try:
            preset_vae(PRESETS[args.preset]['vae'], args.scale_factor)
        except ValueError as error:
            parser.error(f'--scale-factor: {error}')
    result = fit_vae(args.data_root, args.out, args.preset,
                     source_dataset_from_args(args),
                     args.iters, args.batch_size, args.lr, args.kl_weight,
                     args.seed, mask_ce_weight=args.mask_ce_weight,
                     crop_size=args.crop_size,
                     class_balance=args.class_balance,
                     content=args.content, work_dir=args.work_dir,
                     resume=args.resume, mask_encoding=args.mask_encoding,
                     latent_channels=args.latent_channels,
                     scale_factor=args.scale_factor)
    accuracy = result['mask_pixel_accuracy']
    losses = '' if result['first'] is None else \
        f'loss {result["first"]:.4f} -> {result["last"]:.4f}, '
    print(f'VAE ({args.content}) saved to {args.out}: {losses}latent scaling '
          f'factor {result["scaling_factor"]:.4f}' + (
              '' if accuracy is None else f', mask pixels reconstructed in '
              f'their class {100 * accuracy:.1f}%'))
    trip = result['round_trip']
    if trip is not None:
        print(trip['text'])
        if 'neighbourhood' in trip:
            print(f'  with neighbourhood quantisation (quantisation=dict('
                  f"type='neighbourhood') in the mask generator): mCPE "
                  f"{trip['neighbourhood']['mCPE']:.2f}")
    return result


if __name__ == '__main__':
    main()
