#!/usr/bin/env bash
# rule.md's runs on 2 CPU cores, over the Brazil demo work dir of
# ../real_brazil/ ($SRC): the image VAE at KL 1e-6 (in $VAES, about 12
# min), both VAEs' ceilings on val and test (vae_val.json,
# vae_test.json; gate A), stage 2 trained on kl6 in $WORK (about 27 min;
# the data, the mask VAE and the stage-1 model are links to $SRC's),
# both stage 2s on the real val and test masks (stage2.json; gate B),
# and real only, oversampling 40% and alpha 0.4 at 1500 iterations,
# seeds 0-2 (about 19 min; the set is made by the first alpha 0.4 run),
# and both sets read by the seed-0 real-only segmentor (set_consistency.json).
# Run again, each step reuses what is there.
set -euo pipefail
cd "$(dirname "$0")/../../.."
src=${SRC:-work_dirs/brz}
vaes=${VAES:-work_dirs/bvae}
work=${WORK:-work_dirs/bkl6}
here=docs/results/brazil_image_vae
data=data/brazil_buildings
export DLDM_DEMO_DIR
DLDM_DEMO_DIR=$(realpath "$src")
[ -f "$vaes/kl6/config.json" ] || python tools/fit_vae.py "$src/$data" \
    --out "$vaes/kl6" --config configs/demo/brazil/deeplabv3plus_brazil_syn0.py \
    --iters 2400 --crop-size 32 --kl-weight 1e-6 --class-balance 0.5 \
    --content images --seed 0
for split in val test; do
    [ -f "$here/vae_$split.json" ] || python \
        docs/results/image_vae_texture/vae_diag.py "$src/$data" \
        "$src/sweep/alpha_0" "demo=$src/vae_image" "kl6=$vaes/kl6" \
        --split "$split" --out "$here/vae_$split.json"
done
python - "$here/vae_val.json" <<'PY'
import json
import sys

with open(sys.argv[1]) as f:
    scores = json.load(f)
gain = scores['kl6']['consistency_mIoU'] - scores['demo']['consistency_mIoU']
print(f'gate A: kl6 ceiling {gain:+.2f} mIoU on val (needs >= 2.0)')
sys.exit(0 if gain >= 2.0 else 1)
PY
mkdir -p "$work/data"
ln -sfn "$(realpath "$src/$data")" "$work/$data"
for part in mask_small_brazil_numeric_ce_only vae_mask; do
    ln -sfn "$(realpath "$src/$part")" "$work/$part"
done
[ -e "$work/vae_image" ] || cp -r "$vaes/kl6" "$work/vae_image"
DLDM_DEMO_DIR=$(realpath "$work")
stage2=$work/image_controlnet_small_brazil
if [ ! -f "$stage2/export/final/config.json" ]; then
    resume=()
    ls "$stage2"/epoch_*.pth > /dev/null 2>&1 && resume=(--resume)
    python tools/train.py configs/demo/brazil/image_controlnet_small_brazil.py \
        --work-dir "$stage2" "${resume[@]}" --cfg-options randomness.seed=0
fi
[ -f "$here/stage2.json" ] || python docs/results/image_vae_texture/paint.py \
    --dataset brazil_buildings "demo=$src" "kl6=$work" \
    --reference "$src/sweep/alpha_0" \
    --out "$here/stage2.json"
python - "$here/stage2.json" <<'PY'
import json
import sys

with open(sys.argv[1]) as f:
    stage2 = json.load(f)['stage2']
gain = stage2['kl6']['val']['fraction'] - stage2['demo']['val']['fraction']
print(f'gate B: kl6 stage 2 {gain:+.3f} of the real val mIoU (needs >= 0.05)')
sys.exit(0 if gain >= 0.05 else 1)
PY
python docs/results/long_schedule/run.py \
    configs/demo/brazil/deeplabv3plus_brazil_syn40.py \
    configs/demo/brazil/deeplabv3plus_brazil_oversample40.py \
    --iters 1500 --out "$work/segmentors" --name bkl6_1500 \
    --rare building --out-dir "$here"
python "$here/verdict.py" > "$here/verdict.md"
# the two sets (same masks, images painted through either VAE) read by
# the seed-0 real-only segmentor: set_consistency.json, samples_*.png
for name in demo:"$src" kl6:"$work"; do
    folder=${name#*:}
    out=$work/analysis_${name%%:*}
    [ -f "$out/summary.json" ] || DLDM_DEMO_DIR=$(realpath "$folder") \
        python tools/analyze.py "$folder/data/brazil_syn" \
        --real "$src/$data" \
        --config configs/demo/brazil/deeplabv3plus_brazil_syn0.py \
        --ref-config "$src/sweep/alpha_0/deeplabv3plus_brazil_syn40.py" \
        --ref-checkpoint "$src/sweep/alpha_0/iter_1500.pth" --grid 8 \
        --out "$out"
    cp "$out/samples.png" "$here/samples_${name%%:*}.png"
done
python docs/results/image_vae_texture/set_consistency.py "$work" "$here" \
    demo kl6
