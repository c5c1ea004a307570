#!/usr/bin/env bash
# Exploratory, outside rule.md's gate: the appearance stage 2 ($WORK) with
# stronger classifier-free guidance (4 and 6 instead of the demo's 2.0)
# over the first 120 pairs of its set, and the colour agreement of each
# (colours_guidance.json). The guidance-2 pairs are the set's own first
# 120 (same seeds), linked into $WORK/guidance/g2.
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=${WORK:-work_dirs/bapp}
here=docs/results/brazil_appearance
set_dir=$work/data/brazil_syn
export DLDM_DEMO_DIR
DLDM_DEMO_DIR=$(realpath "$work")
mkdir -p "$work/guidance/g2"
head -120 "$set_dir/manifest.jsonl" > "$work/guidance/g2/manifest.jsonl"
cp "$set_dir/synth_info.json" "$work/guidance/g2/"
for part in img_dir ann_dir; do
    ln -sfn "$(realpath "$set_dir/$part")" "$work/guidance/g2/$part"
done
for scale in 4 6; do
    python tools/synthesize.py configs/demo/brazil/synth_small_brazil.py \
        --num 120 --out "$work/guidance/g$scale" \
        --cfg-options synthesis.image_sampling.guidance_scale=$scale
done
python "$here/colours.py" "guidance_2=$work/guidance/g2" \
    "guidance_4=$work/guidance/g4" "guidance_6=$work/guidance/g6" \
    --out "$here/colours_guidance.json"
