#!/usr/bin/env bash
# The Raleigh land-cover scene into $WORK/data (tools/get_benchmark.py),
# then the real-only baselines, seeds 0-5. About 10 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=${WORK:-work_dirs/raleigh}
here=docs/results/real_raleigh
python tools/get_benchmark.py raleigh_landsat --out "$work/data/raleigh_landsat"
configs=configs/demo/raleigh
DLDM_DEMO_DIR=$(realpath "$work") python "$here/run.py" \
    real=$configs/deeplabv3plus_raleigh_syn0.py \
    oversample40=$configs/deeplabv3plus_raleigh_oversample40.py \
    --out "$work/baselines" --name raleigh_1500 --seeds 0 1 2 3 4 5
