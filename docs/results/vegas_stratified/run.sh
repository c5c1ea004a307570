#!/usr/bin/env bash
# rule.md's runs, end to end on 2 CPU cores: the generators of the
# stratified deal (trained in $WEIGHTS_WORK, written to
# demo_weights/spacenet_vegas_roads_stratified), the demo at segmentor seed
# 0 (in $WORK), segmentor seeds 1 and 2, the three runs at 3000
# iterations for seeds 0-2, and the verdict. Run again, each step reuses
# what its work dir already holds.
set -euo pipefail
cd "$(dirname "$0")/../../.."
key=spacenet_vegas_roads_stratified
weights_work=${WEIGHTS_WORK:-work_dirs/vstrat}
work=${WORK:-work_dirs/vstrat_demo}
here=docs/results/vegas_stratified
demo_args=(--dataset "$key" --work-dir "$work" --alphas 0 0.4)
# (a --make-weights work dir refuses a second call once the weights it
# made are there, as their reuse is another setting of it)
if [ ! -f "demo_weights/$key/weights.json" ]; then
    python tools/demo.py --make-weights --dataset "$key" \
        --work-dir "$weights_work"
fi
python tools/demo.py "${demo_args[@]}"
cp "$work/report.md" "$here/report_seed0.md"
cp "$work"/{class_shares,metric_vs_alpha,per_class_iou,samples,stage2_real_masks}.png "$here/"
python docs/results/real_atlanta_labels_fixed/segmentor_seeds.py \
    --seeds-of-segmentors 1 2 --out "$here/segmentor_seeds.json" -- \
    "${demo_args[@]}"
python docs/results/synthetic_gain/aggregate.py "$work" \
    --name vegas_stratified_1500 --rare road --precision-recall --no-pick \
    --out-dir "$here" > "$here/vegas_stratified_1500.md"
DLDM_DEMO_DIR=$(realpath "$work") python docs/results/long_schedule/run.py \
    configs/demo/vegas/deeplabv3plus_vegas_syn40.py \
    configs/demo/vegas/deeplabv3plus_vegas_oversample40.py \
    --iters 3000 --out "$work/long_schedule" --name vegas_stratified_3000 \
    --rare road --out-dir "$here"
python "$here/verdict.py" > "$here/verdict.md"
