#!/usr/bin/env bash
# rule.md's runs: real only, oversampling 40% and alpha 0.4 with the
# plain cross-entropy (road weight 1), 1500 iterations, seeds 0-2, over
# the stratified Vegas demo work dir of ../vegas_stratified/run.sh
# ($WORK; its synthetic set is reused). About 12 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=${WORK:-work_dirs/vstrat_demo}
here=docs/results/vegas_road_weight
weight='[1.0,1.0]'
DLDM_DEMO_DIR=$(realpath "$work") python docs/results/long_schedule/run.py \
    configs/demo/vegas/deeplabv3plus_vegas_syn40.py \
    configs/demo/vegas/deeplabv3plus_vegas_oversample40.py \
    --iters 1500 --out "$work/road_weight1" --name road_weight1_1500 \
    --rare road --out-dir "$here" --cfg-options \
    "model.decode_head.loss_decode.class_weight=$weight" \
    "model.auxiliary_head.loss_decode.class_weight=$weight"
