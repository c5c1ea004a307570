#!/usr/bin/env bash
# read_set.sh WORK SRC: the real-mask set of the Brazil work dir WORK
# (WORK/data/brazil_syn_real_masks) read by SRC's seed-0 real-only
# segmentor with tools/analyze.py, into WORK/analysis_real_masks; read
# again only when the set is newer than its reading.
set -euo pipefail
work=$1
src=$2
syn=$work/data/brazil_syn_real_masks
out=$work/analysis_real_masks
[ "$out/summary.json" -nt "$syn/manifest.jsonl" ] && exit 0
DLDM_DEMO_DIR=$(realpath "$work") python tools/analyze.py "$syn" \
    --real "$work/data/brazil_buildings" \
    --config configs/demo/brazil/deeplabv3plus_brazil_syn0.py \
    --ref-config "$src/sweep/alpha_0/deeplabv3plus_brazil_syn40.py" \
    --ref-checkpoint "$src/sweep/alpha_0/iter_1500.pth" --grid 8 \
    --out "$out"
