"""Does L_prop's gradient on x0 point toward the true mask? Per timestep:
L_prop (hard shares) of the model's x0, and the cosine between
-dL/dx0_latent and (x0_true - x0_pred) for CE, L_prop straight-through,
L_prop soft."""
import sys, json
import numpy as np, torch
import dldm_mmseg  # noqa
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from dldm_mmseg.synthesis.engine import load_generator
from mmseg.registry import DATASETS
torch.set_num_threads(2)
weights = sys.argv[1] if len(sys.argv) > 1 else 'demo_weights/mask_small_toy_ce_only'
cfgp = 'configs/demo/mask_small_toy_ce_only.py'
D = 'work_dirs/demo/data/toy_landcover'
g = load_generator(dict(config=cfgp, weights=weights, model=dict(components=dict(vae='demo_weights/vae_mask'))))
g.eval()
cfg = Config.fromfile(cfgp)
ds_cfg = cfg.train_dataloader.dataset; ds_cfg.data_root = D
ds = DATASETS.build(ds_cfg)
torch.manual_seed(0)
items = [ds[i] for i in range(0, 160, 5)]
batch = {k: [it[k] for it in items] for k in items[0]}
mask = torch.stack(batch['mask']); label = torch.stack(batch['label']); ts = torch.stack(batch['target_shares'])
prompts = batch['prompt']
with torch.no_grad():
    lat = g.encode_pixels(mask); emb = g.encode_prompt(prompts)
res = {}
for T in [50, 150, 300, 450, 600, 750, 900]:
    t = torch.full((lat.shape[0],), T).long()
    gen = torch.Generator().manual_seed(T)
    noise = torch.randn(lat.shape, generator=gen)
    noisy = g.noise_scheduler.add_noise(lat, noise, t)
    with torch.no_grad():
        pred = g.unet(noisy, t, emb).sample
    x0 = g.predict_x0(noisy, pred, t).detach()
    row = {}
    for est in ['ce', 'straight_through', 'soft']:
        x = x0.clone().requires_grad_(True)
        rgb = g.decode_latents(x)
        g.prop_estimator = 'soft' if est == 'soft' else 'straight_through'
        ce, prop = g.x0_mask_losses(rgb, label, ts)
        loss = (ce if est == 'ce' else prop).sum()
        gr, = torch.autograd.grad(loss, x)
        d = (lat - x0).flatten(1); gg = -gr.flatten(1)
        cos = torch.nn.functional.cosine_similarity(gg, d, dim=1)
        row[est] = dict(value=float((ce if est == 'ce' else prop).mean()), cos=float(cos.mean()), cos_pos=float((cos > 0).float().mean()), gnorm=float(gg.norm(dim=1).mean()))
    res[T] = row
    print(T, json.dumps(row), flush=True)
