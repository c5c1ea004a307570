#!/usr/bin/env bash
# The synthetic set of each plain stage-2 seed of train.sh, downstream: a
# copy of demo_weights/spacenet_atlanta whose stage 2 is that seed's export
# (in fp16, as shipped), and the demo at seed 0 on it (real only and
# alpha 0.4). Plain seed 0 is the shipped stage 2, already run in
# work_dirs/atl_s2.
set -euo pipefail
runs=${1:-work_dirs/s2_shares}
cd "$(dirname "$0")/../../.."
for seed in 1 2; do
    weights=work_dirs/w_plain_s$seed
    if [ ! -d "$weights" ]; then
        python - "$runs/plain_s$seed/export/final" "$weights" <<'PY'
import shutil, sys
from dldm_mmseg.utils.weights import half_precision_copy
export, weights = sys.argv[1:]
shutil.rmtree(weights + '.tmp', ignore_errors=True)  # a killed copy's
shutil.copytree('demo_weights/spacenet_atlanta', weights + '.tmp')
stage2 = weights + '.tmp/image_controlnet_small_atlanta'
shutil.rmtree(stage2)
half_precision_copy(export, stage2)
shutil.move(weights + '.tmp', weights)
PY
    fi
    python tools/demo.py --dataset spacenet_atlanta \
        --work-dir work_dirs/atl_plain_s$seed --weights "$weights" \
        --alphas 0 0.4
done
