import os, sys, json, numpy as np
sys.argv = [sys.argv[0]]
os.environ['IMG_W'] = 'demo_weights/image_controlnet_small_toy'; os.environ['IMG_VAE'] = 'demo_weights/vae_image'
src = open(os.path.join(os.path.dirname(__file__), 'stage2_consistency.py')).read().replace("W = 'work_dirs/demo_v2'", "W = 'work_dirs/demo_v3'")
src = src[:src.index('out = {}')]
exec(src)
from dldm_mmseg.utils.label_stats import remove_isolated_pixels
for k in (0, 3, 4, 5):
    masks = [remove_isolated_pixels(m, k) for m in syn_masks]
    imgs = model.generate_images(np.stack(masks), syn_prompts, syn_seeds, steps=20, guidance_scale=2.0, batch_size=16)
    r = images_consistency(checker, list(imgs), masks, CLASSES)
    changed = np.mean([np.mean(a != b) for a, b in zip(masks, syn_masks)]) * 100
    print(k, round(r['consistency_mIoU'], 2), [round(r[f'consistency_IoU.{c}'], 1) for c in CLASSES], f'{changed:.2f}% pixels changed', flush=True)
