"""Synthesis knobs vs the synthetic set's consistency and mCPE, with the
demo_v5 generators (shipped weights) and its alpha = 0 segmentor.

Usage (repository root): python docs/results/synthesis_steering/scan.py
[NAME ...]; sets and results go to work_dirs/exp7. THREADS sets torch's
thread count (default 1); MASK_WEIGHTS another stage-1 export to use and
TAG a suffix for its set and result names."""
import copy, json, os, os.path as osp, sys, time
import torch
sys.path.insert(0, 'tools')
import demo as D
from mmengine.runner.checkpoint import find_latest_checkpoint
from dldm_mmseg.evaluation.consistency import ConsistencyChecker
from dldm_mmseg.experiments.analysis import consistency_miou, set_mcpe
from dldm_mmseg.synthesis.engine import SynthesisEngine

os.makedirs('work_dirs/exp7', exist_ok=True)
torch.set_num_threads(int(os.environ.get('THREADS', '1')))
args = D.parse_args(['--work-dir', 'work_dirs/demo_v5'])
demo = D.Demo(args)
demo.check_settings()
base = demo.synthesis_cfg()
if os.environ.get('MASK_WEIGHTS'):  # another stage-1 export to compare
    base['mask_generator']['weights'] = os.environ['MASK_WEIGHTS']
base['mask_sampling'].pop('prop_guidance', None)  # baseline: off
run_dir = osp.join(demo.work, 'sweep', 'alpha_0')
checker = ConsistencyChecker(
    config=osp.join(run_dir, osp.basename(D.SEG_SWEEP_CONFIG)),
    checkpoint=find_latest_checkpoint(run_dir), device='cpu')
VARIANTS = {
    'base': {},
    'mask_gs3': {'mask_sampling.guidance_scale': 3.0},
    'mask_gs4': {'mask_sampling.guidance_scale': 4.0},
    'propguide': {'mask_sampling.prop_guidance': dict(scale=0.5,
                                                      max_timestep=150)},
    'mask_steps50': {'mask_sampling.steps': 50},
    'img_gs3': {'image_sampling.guidance_scale': 3.0},
    'reject5': {'reject.max_cpe': 5},
    'reject3': {'reject.max_cpe': 3},
}
names = sys.argv[1:] or list(VARIANTS)
out = {}
for name in names:
    cfg = copy.deepcopy(base)
    for key, value in VARIANTS[name].items():
        a, b = key.split('.')
        cfg[a][b] = value
    root = f'work_dirs/exp7/syn_{name}' + os.environ.get('TAG', '')
    t = time.time()
    SynthesisEngine(cfg).run(demo.s['num_syn'], root)
    took = time.time() - t
    ids = [json.loads(l)['id'] for l in open(osp.join(root, 'manifest.jsonl'))]
    cons = consistency_miou(root, checker, ids, demo.classes)
    cpe = set_mcpe(root, demo.classes)
    out[name] = dict(consistency=cons, set_mcpe=cpe, seconds=took)
    print(name, 'consistency', round(cons['consistency_mIoU'], 2),
          'set mCPE', round(cpe['mCPE'], 3), f'{took:.0f} s', flush=True)
    json.dump(out, open(f'work_dirs/exp7/scan_{"_".join(names)}'
                        f'{os.environ.get("TAG", "")}.json', 'w'),
              indent=1)
