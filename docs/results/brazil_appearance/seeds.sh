#!/usr/bin/env bash
# rule.md's second addendum on 2 CPU cores: segmentor seeds 3 and 4 at
# the 90-tile budget ($BUDGET) for real only, oversampling and alpha 0.4
# on the plain budget set (../long_schedule/run.py), and for the
# appearance set with the filter ($WORK, more_arms.py); then the bar over
# seeds 0-4 (seeds0-4.json). Finished runs are reused.
set -euo pipefail
cd "$(dirname "$0")/../../.."
src=${SRC:-work_dirs/brz}
budget=${BUDGET:-work_dirs/bbud}
work=${WORK:-work_dirs/bbud_app}
here=docs/results/brazil_appearance
DLDM_DEMO_DIR=$(realpath "$budget") python docs/results/long_schedule/run.py \
    configs/demo/brazil/deeplabv3plus_brazil_syn40.py \
    configs/demo/brazil/deeplabv3plus_brazil_oversample40.py \
    --iters 1500 --out "$budget/segmentors" --name bbud_seeds0-4 \
    --rare building --out-dir "$here" --seeds 3 4
python docs/results/brazil_image_vae/more_arms.py --demo "$src" \
    --work "$work" --reference "$budget/segmentors/seed0/real" \
    --label budget_appearance --name bbud_app_more_seeds0-4 \
    --out-dir "$here" --seeds 0 1 2 3 4
python - "$here" <<'PY'
import json
import os.path as osp
import sys

sys.path.insert(0, osp.join(sys.argv[1], '..', 'synthetic_gain'))
from aggregate import margins, write_verdict  # noqa: E402

with open(osp.join(sys.argv[1], 'bbud_seeds0-4.json')) as f:
    runs = json.load(f)
with open(osp.join(sys.argv[1], 'bbud_app_more_seeds0-4.json')) as f:
    runs['appearance + filter'] = json.load(f)['filtered']
for name, run in runs.items():
    if isinstance(run, dict) and 'val' in run:
        print(name, run['seeds'], ' '.join(
            f'{split} {run[split]["mIoU"]["mean"]:.2f} ± '
            f'{run[split]["mIoU"]["std"]:.2f}' for split in ('val', 'test')))
over = {split: margins(runs, 'appearance + filter',
                       ['real', 'oversample40', 'alpha_0.4'], split, 'mIoU')
        for split in ('val', 'test')}
write_verdict(osp.join(sys.argv[1], 'seeds0-4.json'), dict(
    margins=over, bar_met=all(over['val'][b]['beyond_std']
                              for b in ('real', 'oversample40'))))
PY
