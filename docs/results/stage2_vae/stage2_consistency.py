"""Stage-2 inference knobs vs mask-image consistency on the demo_v2 set."""
import json, os, os.path as osp, sys, time
import numpy as np
from PIL import Image
import dldm_mmseg  # noqa
from mmengine.registry import init_default_scope
init_default_scope('mmseg')
from mmengine.runner.checkpoint import find_latest_checkpoint
from dldm_mmseg.experiments.analysis import images_consistency
from dldm_mmseg.datasets.captioning import load_captions
from dldm_mmseg.evaluation.consistency import ConsistencyChecker
from dldm_mmseg.synthesis.engine import load_generator
from dldm_mmseg.utils.label_stats import read_label_map, to_train_ids
from dldm_mmseg.utils.io import read_jsonl

W = os.environ.get('W', 'work_dirs/demo_v2')  # the demo work dir whose set, data and segmentor are used
CLASSES = ('impervious_surface', 'building', 'low_vegetation', 'tree', 'car', 'clutter')
run_dir = osp.join(W, 'sweep', 'alpha_0')
checker = ConsistencyChecker(osp.join(run_dir, 'deeplabv3plus_toy_syn40.py'), find_latest_checkpoint(run_dir), device='cpu')
syn = osp.join(W, 'data', 'toy_syn')
man = list(read_jsonl(osp.join(syn, 'manifest.jsonl')))
syn_masks = [to_train_ids(read_label_map(osp.join(syn, 'ann_dir/train', r['id'] + '.png')), True) for r in man]
syn_prompts = [r['image_prompt'] for r in man]
syn_seeds = [r['image_seed'] for r in man]
data_root = osp.join(W, 'data', 'toy_landcover')
recs = load_captions(osp.join(data_root, 'captions_val.jsonl'), CLASSES)
keys = sorted(recs)
from dldm_mmseg.utils.prompts import compose_prompt
real_masks = [to_train_ids(read_label_map(osp.join(data_root, recs[k]['seg_map_path'])), True) for k in keys]
real_prompts = [compose_prompt(recs[k]['share_text'], (recs[k].get('caption') or '').strip().rstrip('.'), 'caption+shares') for k in keys]
model = load_generator(dict(config='configs/demo/image_controlnet_small_toy.py', weights=os.environ.get('IMG_W', 'demo_weights/image_controlnet_small_toy'),
                            model=dict(components=dict(vae=os.environ.get('IMG_VAE', 'demo_weights/vae_image')))))
real_seeds = model.sample_seeds(keys, offset=1)
model.eval()
out = {}
for spec in sys.argv[1:]:
    g, c, steps = (float(x) for x in spec.split(','))
    t0 = time.time()
    res = {}
    for name, masks, prompts, seeds in (('syn', syn_masks, syn_prompts, syn_seeds), ('real', real_masks, real_prompts, real_seeds)):
        imgs = model.generate_images(np.stack(masks), prompts, seeds, steps=int(steps), guidance_scale=g, conditioning_scale=c, batch_size=16)
        r = images_consistency(checker, list(imgs), masks, CLASSES)
        res[name] = round(r['consistency_mIoU'], 2)
        res[name + '_cls'] = [round(r[f'consistency_IoU.{k}'], 1) for k in CLASSES]
    res['s'] = round(time.time() - t0, 1)
    print(spec, json.dumps(res), flush=True)
