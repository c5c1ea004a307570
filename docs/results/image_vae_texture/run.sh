#!/usr/bin/env bash
# rule.md's runs on 2 CPU cores, over the stratified Vegas demo work dir of
# ../vegas_stratified/run.sh ($SRC): five image VAEs fitted like the
# shipped one (in $VAES, about 7 min each), the pick on val
# (vae_val.json), stage 2 trained on the picked VAE in $WORK (about 18
# min; the data and the stage-1 model are links to $SRC's), stage 2 on
# the real val and test masks (stage2.json), and real only, oversampling
# 40% and alpha 0.4 at 1500 iterations, seeds 0-2 (about 15 min, the
# synthetic set made by the first alpha 0.4 run). Run again, each step
# reuses what is there.
set -euo pipefail
cd "$(dirname "$0")/../../.."
src=${SRC:-work_dirs/vstrat_demo}
vaes=${VAES:-work_dirs/vtex_vaes}
work=${WORK:-work_dirs/vtex}
here=docs/results/image_vae_texture
export DLDM_DEMO_DIR
fit() {
    local name=$1
    shift
    [ -f "$vaes/$name/config.json" ] || python tools/fit_vae.py \
        "$src/data/spacenet_vegas_roads" --out "$vaes/$name" \
        --config configs/demo/vegas/deeplabv3plus_vegas_syn0.py \
        --iters 2400 --crop-size 32 --kl-weight 1e-4 --content images \
        --seed 0 "$@"
}
DLDM_DEMO_DIR=$(realpath "$src")
fit cb0 --class-balance 0
fit lat8 --class-balance 0.5 --latent-channels 8
fit lat16 --class-balance 0.5 --latent-channels 16
fit kl5 --class-balance 0.5 --kl-weight 1e-5
fit kl6 --class-balance 0.5 --kl-weight 1e-6
python "$here/vae_diag.py" "$src/data/spacenet_vegas_roads" \
    "$src/sweep/alpha_0" "shipped=$src/vae_image" "cb0=$vaes/cb0" \
    "lat8=$vaes/lat8" "lat16=$vaes/lat16" "kl5=$vaes/kl5" "kl6=$vaes/kl6" \
    --also "plain_vegas=${PLAIN:-work_dirs/vegas_demo}/vae_image" --split val \
    --out "$here/vae_val.json"
picked=$(python -c "import json, sys; print(json.load(open(sys.argv[1]))['picked'])" \
    "$here/vae_val.json")
if [ "$picked" = shipped ]; then
    echo "the shipped image VAE wins on val: nothing more to run (rule.md)"
    exit 0
fi
mkdir -p "$work/data"
ln -sfn "$(realpath "$src/data/spacenet_vegas_roads")" \
    "$work/data/spacenet_vegas_roads"
for part in mask_small_vegas_numeric_ce_only vae_mask; do
    ln -sfn "$(realpath "$src/$part")" "$work/$part"
done
[ -e "$work/vae_image" ] || cp -r "$vaes/$picked" "$work/vae_image"
DLDM_DEMO_DIR=$(realpath "$work")
stage2=$work/image_controlnet_small_vegas
if [ ! -f "$stage2/export/final/config.json" ]; then
    resume=()
    ls "$stage2"/epoch_*.pth > /dev/null 2>&1 && resume=(--resume)
    python tools/train.py configs/demo/vegas/image_controlnet_small_vegas.py \
        --work-dir "$stage2" "${resume[@]}" --cfg-options randomness.seed=0
fi
python "$here/paint.py" "shipped=$src" "$picked=$work" \
    --reference "$src/sweep/alpha_0"
python docs/results/long_schedule/run.py \
    configs/demo/vegas/deeplabv3plus_vegas_syn40.py \
    configs/demo/vegas/deeplabv3plus_vegas_oversample40.py \
    --iters 1500 --out "$work/segmentors" --name "vtex_1500" \
    --rare road --out-dir "$here"
# the two sets (same masks, images painted through either VAE) read by
# the seed-0 real-only segmentor: set_consistency.json, samples_*.png
for name in shipped:"$src" picked:"$work"; do
    folder=${name#*:}
    DLDM_DEMO_DIR=$(realpath "$folder") python tools/analyze.py \
        "$folder/data/vegas_syn" --real "$src/data/spacenet_vegas_roads" \
        --config configs/demo/vegas/deeplabv3plus_vegas_syn0.py \
        --ref-config "$src/sweep/alpha_0/deeplabv3plus_vegas_syn40.py" \
        --ref-checkpoint "$src/sweep/alpha_0/iter_1500.pth" --grid 8 \
        --out "$work/analysis_${name%%:*}"
    cp "$work/analysis_${name%%:*}/samples.png" "$here/samples_${name%%:*}.png"
done
python docs/results/image_vae_texture/set_consistency.py "$work" "$here" \
    shipped picked
python "$here/verdict.py" > "$here/verdict.md"
