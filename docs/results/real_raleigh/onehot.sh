#!/usr/bin/env bash
# onehot_rule.md's runs over the Raleigh demo work dir ($WORK, made by
# python tools/demo.py --dataset raleigh_landsat --seeds 3): stage 2 with
# the palette-colour condition (the recipe and seed 0 of the shipped
# one-hot stage 2, which shipped palette colours when the rule was run),
# then both painting the real val and test masks. About 15 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=${WORK:-work_dirs/demo_raleigh_landsat}
here=docs/results/real_raleigh
export DLDM_DEMO_DIR=$(realpath "$work")
rgb=$work/stage2_rgb
if [ ! -d "$rgb/export/final" ]; then
    resume=()
    [ -f "$rgb/last_checkpoint" ] && resume=(--resume)
    python tools/train.py \
        configs/demo/raleigh/image_controlnet_small_raleigh_rgb.py \
        --work-dir "$rgb" --cfg-options randomness.seed=0 "${resume[@]}"
fi
python "$here/paint.py" "$work" \
    "rgb=image_controlnet_small_raleigh_rgb.py:$rgb/export/final" \
    "onehot=image_controlnet_small_raleigh.py:$work/image_controlnet_small_raleigh/export/final"
