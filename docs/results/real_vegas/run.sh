#!/usr/bin/env bash
# The second real scene, end to end on 2 CPU cores: the generators
# (trained in $WEIGHTS_WORK, written to demo_weights/spacenet_vegas_roads),
# the demo at segmentor seed 0 with the set variants (in $WORK, on those
# weights), segmentor seeds 1 and 2, and the table. Run again, each step
# reuses what its work dir already holds.
set -euo pipefail
cd "$(dirname "$0")/../../.."
weights_work=${WEIGHTS_WORK:-work_dirs/vegas}
work=${WORK:-work_dirs/vegas_demo}
here=docs/results/real_vegas
demo_args=(--dataset spacenet_vegas_roads --work-dir "$work"
           --alphas 0 0.2 0.4 --weak-classes --class-filter)
# (a --make-weights work dir refuses a second call once the weights it
# made are there, as their reuse is another setting of it)
if [ ! -f demo_weights/spacenet_vegas_roads/weights.json ]; then
    python tools/demo.py --make-weights --dataset spacenet_vegas_roads \
        --work-dir "$weights_work"
fi
python tools/demo.py "${demo_args[@]}"
cp "$work/report.md" "$here/report_seed0.md"
cp "$work"/{class_shares,metric_vs_alpha,per_class_iou,samples,stage2_real_masks}.png "$here/"
python docs/results/real_atlanta_labels_fixed/segmentor_seeds.py \
    --seeds-of-segmentors 1 2 --out "$here/segmentor_seeds.json" -- \
    "${demo_args[@]}"
python docs/results/synthetic_gain/aggregate.py "$work" --name vegas \
    --rare road --out-dir "$here" > "$here/vegas.md"
# alphas 0.6 and 1.0 at segmentor seed 0, in a work dir of their own (a
# demo work dir keeps the --alphas it was made with); same seed, same set
python tools/demo.py --dataset spacenet_vegas_roads --work-dir "${work}_sweep" \
    --alphas 0 0.6 1.0
python docs/results/synthetic_gain/aggregate.py "${work}_sweep" \
    --name vegas_sweep_seed0 --rare road --out-dir "$here" \
    > "$here/vegas_sweep_seed0.md"
