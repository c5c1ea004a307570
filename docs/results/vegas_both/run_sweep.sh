#!/usr/bin/env bash
# rule_sweep.md's runs over the stratified Vegas demo work dir ($WORK),
# seeds 0-2, the configs as they are, then the table and the plot. About
# 24 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=${WORK:-work_dirs/vstrat_demo}
here=docs/results/vegas_both
DLDM_DEMO_DIR=$(realpath "$work") python "$here/run.py" \
    configs/demo/vegas/deeplabv3plus_vegas_syn40.py \
    configs/demo/vegas/deeplabv3plus_vegas_oversample40.py \
    --out "$work/sweep_w1" --name vegas_sweep_1500 --rare road \
    --seeds 0 1 2 --sweep 0.2 0.6 1.0
python "$here/verdict.py" vegas_sweep | tee "$here/verdict_sweep.md"
