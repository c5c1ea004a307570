#!/usr/bin/env bash
# rule_plain.md's runs over the plain Las Vegas demo work dir ($WORK, made
# by python tools/demo.py --dataset spacenet_vegas_roads --work-dir $WORK;
# its synthetic set is reused), seeds 0-2, then the verdict. About 20 min
# on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=${WORK:-work_dirs/vegas_demo}
here=docs/results/vegas_both
w4='[1.0,4.0]'
DLDM_DEMO_DIR=$(realpath "$work") python "$here/run.py" \
    configs/demo/vegas/deeplabv3plus_vegas_syn40.py \
    configs/demo/vegas/deeplabv3plus_vegas_oversample40.py \
    --out "$work/both" --name vegas_plain_both_1500 --rare road \
    --seeds 0 1 2 --both 0.2 \
    --also real_w4 "model.decode_head.loss_decode.class_weight=$w4" \
    "model.auxiliary_head.loss_decode.class_weight=$w4"
python "$here/verdict.py" vegas_plain | tee "$here/verdict_plain.md"
