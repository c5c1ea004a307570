"""The demo's alpha = 0.4 segmentors on a synthetic set made with another
stage-1 export, trained as tools/demo.py trains them.

Usage (repository root): python docs/results/stage1_epochs/seg_on_set.py
WORK_DIR STAGE1_EXPORT [SEED ...] (seeds default to 0 1 2); writes
WORK_DIR/alpha04.json. IMAGE_WEIGHTS (a stage-2 export) and IMAGE_VAE
replace the demo's stage 2 and its VAE (docs/results/stage2_epochs)."""
import json, os, os.path as osp, sys, time
sys.path.insert(0, 'tools')
import demo as D
from dldm_mmseg.experiments.alpha_sweep import reuse_or_run, run_alpha
from dldm_mmseg.synthesis.engine import SynthesisEngine

work, weights = sys.argv[1], sys.argv[2]
seeds = [int(s) for s in sys.argv[3:]] or [0, 1, 2]
demo = D.Demo(D.parse_args(['--work-dir', work]))
plain = demo.export_dir
demo.export_dir = lambda config, seed=None: weights if config == \
    D.MASK_CONFIGS['with L_prop'] else plain(config, seed)
if os.environ.get('IMAGE_VAE'):
    demo.vaes['images'] = os.environ['IMAGE_VAE']
if os.environ.get('IMAGE_WEIGHTS'):
    mask_or_plain = demo.export_dir
    demo.export_dir = lambda config, seed=None: os.environ['IMAGE_WEIGHTS'] \
        if config == D.IMAGE_CONFIG else mask_or_plain(config, seed)
demo.dataset()
t = time.time()
SynthesisEngine(demo.synthesis_cfg()).run(demo.s['num_syn'], demo.syn_root)
print('synthesis', round(time.time() - t), 's', flush=True)
out = {}
for seed in seeds:
    run_dir = osp.join(work, f'sweep_seed{seed}', 'alpha_0.4')
    m = reuse_or_run(run_dir, run_alpha, osp.join(D.ROOT, D.SEG_SWEEP_CONFIG),
                     0.4, run_dir, demo.seg_options(D.SEG_SWEEP_CONFIG,
                                                    demo.s['seg_iters'], seed))
    out[seed] = {k: m[k] for k in ('mIoU', 'IoU.car', 'IoU.clutter')}
    print(seed, out[seed], flush=True)
json.dump(out, open(osp.join(work, 'alpha04.json'), 'w'), indent=1)
