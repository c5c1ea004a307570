"""#14: alpha 0.4 on a weak-class-boosted synthetic set vs the frequency
boost, the demo's segmentors, 3 seeds (weak classes from seed 0's alpha 0)."""
import json, os.path as osp, sys
sys.path.insert(0, 'tools')
import demo as D
import sweep
args = D.parse_args(['--work-dir', 'work_dirs/demo_v2'])
d = D.Demo(args)
weak = osp.abspath(osp.join(d.work, 'sweep', 'alpha_0', 'metrics.json'))
out = {}
for seed in (0, 1, 2):
    opts = d.seg_options(D.SEG_SWEEP_CONFIG, d.s['seg_iters'], seed)
    hook = [k for k in opts if k.startswith('custom_hooks.')][0].split('.')[1]
    opts[f'custom_hooks.{hook}.synth_options'] = d.synthesis_cfg()
    work = osp.join(d.work, 'sweep' + d._suffix(seed))
    run_dir = osp.join(work, 'alpha_0.4_weak_classes')
    out[seed] = sweep.reuse_or_run(run_dir, sweep.run_alpha, osp.join(D.ROOT, D.SEG_SWEEP_CONFIG), 0.4, run_dir, opts, weak)
    base = json.load(open(osp.join(work, 'alpha_0.4', 'metrics.json')))
    real = json.load(open(osp.join(work, 'alpha_0', 'metrics.json')))
    print(seed, {k: (round(real[k], 2), round(base[k], 2), round(out[seed][k], 2)) for k in ('mIoU', 'IoU.car', 'IoU.clutter', 'IoU.tree')}, flush=True)
json.dump(out, open('work_dirs/exp2/weak.json', 'w'), indent=1)
