"""Fit the demo's two VAEs through the Runner path (VAEAutoencoder +
VAEExportHook, dldm_mmseg.models.vae_fitting.fit_vae with the demo's
arguments) and compare them with the shipped ones (fitted by the former
hand-written loop): mask pixels reconstructed in their class on the 48 val
masks, and the real-only segmentor's mIoU on the image VAE's
reconstructions of the 48 val images (the ceiling of stage 2).

Usage (repository root, after `python tools/demo.py --work-dir W`):
    python docs/results/vae_runner/compare.py W OUT [--skip-fit]
"""
import json
import os.path as osp
import sys
import time

import numpy as np
import torch
from diffusers import AutoencoderKL
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import find_latest_checkpoint
from PIL import Image

import dldm_mmseg  # noqa: F401
from dldm_mmseg.datasets.captioning import load_captions
from dldm_mmseg.evaluation.consistency import ConsistencyChecker
from dldm_mmseg.experiments.analysis import images_consistency
from dldm_mmseg.models.vae_fitting import fit_vae
from dldm_mmseg.utils.label_stats import read_label_map, to_train_ids
from dldm_mmseg.utils.palette import index_to_rgb, nearest_palette_index

init_default_scope('mmseg')
work, out = sys.argv[1], sys.argv[2]
CLASSES = ('impervious_surface', 'building', 'low_vegetation', 'tree', 'car',
           'clutter')
PALETTE = np.array([[255, 255, 255], [0, 0, 255], [0, 255, 255],
                    [0, 255, 0], [255, 255, 0], [255, 0, 0]], np.uint8)
root = osp.join(work, 'data', 'toy_landcover')
times = {}
if '--skip-fit' not in sys.argv:
    for content, iters in (('masks', 800), ('images', 2400)):
        t = time.time()
        r = fit_vae(root, osp.join(out, f'vae_{content}'), 'small',
                    'PotsdamDataset', iters=iters, batch_size=16,
                    kl_weight=1e-4, seed=0, log_interval=400, crop_size=32,
                    content=content)
        times[content] = round(time.time() - t)
        print(content, r, times[content], 's', flush=True)

recs = load_captions(osp.join(root, 'captions_val.jsonl'), CLASSES)
keys = sorted(recs)
labels = [to_train_ids(read_label_map(osp.join(root, recs[k]['seg_map_path'])),
                       True) for k in keys]
images = [np.asarray(Image.open(osp.join(root, recs[k]['img_path']))
                     .convert('RGB')) for k in keys]
run = osp.join(work, 'sweep', 'alpha_0')
checker = ConsistencyChecker(osp.join(run, 'deeplabv3plus_toy_syn40.py'),
                             find_latest_checkpoint(run), device='cpu')


def roundtrip(vae, rgb):
    x = torch.from_numpy(np.stack(rgb)).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        rec = vae.decode(vae.encode(x).latent_dist.mode()).sample
    return list(((rec.clamp(-1, 1) + 1) * 127.5).round().byte()
                .permute(0, 2, 3, 1).numpy())


masks = [index_to_rgb(lab, PALETTE) for lab in labels]
table = {}
for name, folders in (('shipped (hand-written loop)',
                       ('demo_weights/vae_mask', 'demo_weights/vae_image')),
                      ('Runner (VAEAutoencoder)',
                       (osp.join(out, 'vae_masks'),
                        osp.join(out, 'vae_images')))):
    mask_vae, image_vae = (AutoencoderKL.from_pretrained(f).float().eval()
                           for f in folders)
    hits = total = 0
    for lab, rec in zip(labels, roundtrip(mask_vae, masks)):
        valid = lab != 255
        hits += int((nearest_palette_index(rec, PALETTE)[valid]
                     == lab[valid]).sum())
        total += int(valid.sum())
    ceiling = images_consistency(checker, roundtrip(image_vae, images),
                                 labels, CLASSES)
    table[name] = dict(
        mask_pixels_in_class=round(100 * hits / total, 2),
        image_ceiling_mIoU=round(ceiling['consistency_mIoU'], 2),
        ceiling_car=round(ceiling['consistency_IoU.car'], 1),
        ceiling_clutter=round(ceiling['consistency_IoU.clutter'], 1),
        mask_scaling=round(mask_vae.config.scaling_factor, 4),
        image_scaling=round(image_vae.config.scaling_factor, 4))
    print(name, table[name], flush=True)
print(json.dumps(dict(table=table, fit_seconds=times), indent=1))
