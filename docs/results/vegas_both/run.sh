#!/usr/bin/env bash
# rule.md's runs over the stratified Vegas demo work dir of
# ../vegas_stratified/run.sh ($WORK; its synthetic set is reused), seeds
# 0-5, then the verdict. Seeds 0-2 of real only, oversampling and alpha 0.4
# at road weight 1 are the road-weight probe's runs (linked, and checked
# by the harness to have the same settings). About 35 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=${WORK:-work_dirs/vstrat_demo}
here=docs/results/vegas_both
out=$work/both
for seed in 0 1 2; do
    mkdir -p "$out/seed$seed"
    for run in real oversample40 alpha_0.4; do
        done_before=$work/road_weight1/seed$seed/$run
        if [ -d "$done_before" ] && [ ! -e "$out/seed$seed/$run" ]; then
            ln -s "$(realpath "$done_before")" "$out/seed$seed/$run"
        fi
    done
done
w1='[1.0,1.0]'
w4='[1.0,4.0]'
DLDM_DEMO_DIR=$(realpath "$work") python "$here/run.py" \
    configs/demo/vegas/deeplabv3plus_vegas_syn40.py \
    configs/demo/vegas/deeplabv3plus_vegas_oversample40.py \
    --out "$out" --name both_1500 --rare road --seeds 3 4 5 0 1 2 \
    --both 0.2 0.4 --cfg-options \
    "model.decode_head.loss_decode.class_weight=$w1" \
    "model.auxiliary_head.loss_decode.class_weight=$w1" \
    --also real_w4 "model.decode_head.loss_decode.class_weight=$w4" \
    "model.auxiliary_head.loss_decode.class_weight=$w4"
python "$here/verdict.py" | tee "$here/verdict.md"
