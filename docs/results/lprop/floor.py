import json, numpy as np, torch, os.path as osp
import dldm_mmseg  # noqa
from mmengine.config import Config
from mmseg.registry import DATASETS
from dldm_mmseg.synthesis.engine import load_generator
from dldm_mmseg.utils.label_stats import class_shares, class_proportion_error
from dldm_mmseg.utils.palette import nearest_palette_index
torch.set_num_threads(2)
cfgp = 'configs/demo/mask_small_toy_ce_only.py'
g = load_generator(dict(config=cfgp, weights='demo_weights/mask_small_toy_ce_only', model=dict(components=dict(vae='demo_weights/vae_mask'))))
cfg = Config.fromfile(cfgp)
vc = cfg.val_dataloader.dataset; vc.data_root = 'work_dirs/demo/data/toy_landcover'
ds = DATASETS.build(vc)
items = [ds[i] for i in range(len(ds))]
mask = torch.stack([it['mask'] for it in items]); ts = torch.stack([it['target_shares'] for it in items]).numpy()
lab = torch.stack([it['label'] for it in items]).numpy()
with torch.no_grad():
    rec = g.decode_latents(g.encode_pixels(mask))
rgb = ((rec + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
c1, c2 = [], []
for i in range(len(items)):
    idx = nearest_palette_index(rgb[i], g.palette)
    c1.append(class_proportion_error(class_shares(idx, 6), ts[i]).mean())
    c2.append(class_proportion_error(class_shares(lab[i], 6), ts[i]).mean())
print('n', len(items), 'VAE roundtrip mCPE', np.mean(c1), 'label vs prompt (rounding) mCPE', np.mean(c2))
