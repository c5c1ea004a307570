import os.path as osp, numpy as np, torch
from PIL import Image
import dldm_mmseg  # noqa
from mmengine.registry import init_default_scope
init_default_scope('mmseg')
from mmengine.runner.checkpoint import find_latest_checkpoint
from diffusers import AutoencoderKL
from dldm_mmseg.experiments.analysis import images_consistency
from dldm_mmseg.datasets.captioning import load_captions
from dldm_mmseg.evaluation.consistency import ConsistencyChecker
from dldm_mmseg.utils.label_stats import read_label_map, to_train_ids
W='work_dirs/demo_v2'; CLASSES=('impervious_surface','building','low_vegetation','tree','car','clutter')
run_dir=osp.join(W,'sweep','alpha_0')
checker=ConsistencyChecker(osp.join(run_dir,'deeplabv3plus_toy_syn40.py'), find_latest_checkpoint(run_dir), device='cpu')
root=osp.join(W,'data','toy_landcover'); recs=load_captions(osp.join(root,'captions_val.jsonl'), CLASSES); keys=sorted(recs)
masks=[to_train_ids(read_label_map(osp.join(root,recs[k]['seg_map_path'])),True) for k in keys]
imgs=[np.asarray(Image.open(osp.join(root,recs[k]['img_path'])).convert('RGB')) for k in keys]
print('real images', round(images_consistency(checker, imgs, masks, CLASSES)['consistency_mIoU'],2))
import sys; vae=AutoencoderKL.from_pretrained(sys.argv[1] if len(sys.argv)>1 else 'demo_weights/vae_image').float().eval()
x=torch.from_numpy(np.stack(imgs)).permute(0,3,1,2).float()/127.5-1
with torch.no_grad(): rec=vae.decode(vae.encode(x).latent_dist.mode()).sample
rec=((rec.clamp(-1,1)+1)*127.5).round().byte().permute(0,2,3,1).numpy()
r=images_consistency(checker, list(rec), masks, CLASSES)
print('vae roundtrip', round(r['consistency_mIoU'],2), [round(r[f'consistency_IoU.{c}'],1) for c in CLASSES])
# blur test: gaussian blur the real images
from PIL import ImageFilter
for rad in (0.7, 1.0, 1.5):
    bl=[np.asarray(Image.fromarray(i).filter(ImageFilter.GaussianBlur(rad))) for i in imgs]
    print('blur', rad, round(images_consistency(checker, bl, masks, CLASSES)['consistency_mIoU'],2))
