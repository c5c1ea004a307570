"""Ship stage 2 trained 240 epochs (seed 0, work_dirs/exp9/e240_s0) into
demo_weights/ and re-key weights.json to the current settings and configs.

Usage (repository root): PYTHONPATH=tools python
docs/results/stage2_epochs/ship.py"""
import datetime, json, subprocess
import demo as D  # tools/ on PYTHONPATH
from dldm_mmseg.utils.io import atomic_open
from dldm_mmseg.utils.weights import half_precision_copy

args = D.parse_args([])
args.make_weights = True
d = D.Demo(args)
info = json.load(open('demo_weights/weights.json'))
info['bytes']['image_controlnet_small_toy'] = half_precision_copy(
    'work_dirs/exp9/e240_s0/export/final',
    'demo_weights/image_controlnet_small_toy')
info['key'] = json.loads(json.dumps(d.weights_key()))
info['seconds']['stage 2'] = 1041
info['updated'] = datetime.datetime.now().isoformat(timespec='seconds')
info['update_commit'] = subprocess.run(
    ['git', 'rev-parse', 'HEAD'], capture_output=True, text=True
).stdout.strip()
info['note'] += (
    '. Updated ' + info['updated'] + ': stage 2 retrained for 240 epochs '
    '(max_epochs=240 in configs/demo/image_controlnet_small_toy.py) by '
    'tools/train.py with that config, seed 0, the shipped image VAE and the '
    "demo's data (1041 s; docs/results/stage2_epochs); the VAEs and both "
    'stage-1 models are unchanged; the key re-computed')
with atomic_open('demo_weights/weights.json') as f:
    json.dump(info, f, indent=2)
print(json.dumps(info['key'])[:300], info['bytes'])
