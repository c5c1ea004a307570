#!/usr/bin/env bash
# rule.md's addendum, after run.sh: alpha 0.4 over the set the
# class-balanced stage 2 ($WORK) paints for the budget's real train
# masks, seeds 0-2 (../brazil_real_masks/run.py). Real only, oversampling
# and the stage-1 arm are the budget's own runs ($BUDGET), linked. Writes
# real_masks.json here.
set -euo pipefail
cd "$(dirname "$0")/../../.."
budget=${BUDGET:-work_dirs/bbud}
work=${WORK:-work_dirs/bbud_cb}
here=docs/results/stage2_class_balance
for seed in 0 1 2; do
    mkdir -p "$work/segmentors/seed$seed"
    for run in real oversample40 alpha_0.4; do
        ln -sfn "$(realpath "$budget/segmentors/seed$seed/$run")" \
            "$work/segmentors/seed$seed/$run"
    done
done
python docs/results/brazil_real_masks/run.py "class_balance=$work" \
    --out-dir "$here"
# the set read by the Brazil demo's ($SRC) seed-0 real-only segmentor
bash docs/results/brazil_real_masks/read_set.sh "$work" \
    "${SRC:-work_dirs/brz}"
cp "$work/analysis_real_masks/summary.json" "$here/set_analysis.json"
cp "$work/analysis_real_masks/samples.png" "$here/samples.png"
