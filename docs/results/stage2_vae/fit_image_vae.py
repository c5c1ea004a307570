import sys, time, json
from dldm_mmseg.models.vae_fitting import fit_vae
iters = int(sys.argv[1]); out = sys.argv[2]
extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
t = time.time()
r = fit_vae('work_dirs/demo_v2/data/toy_landcover', out, 'small', 'PotsdamDataset', iters=iters, batch_size=16,
            kl_weight=1e-4, seed=0, log_interval=400, crop_size=32, content='images', **extra)
print('result', r, round(time.time() - t), 's')
