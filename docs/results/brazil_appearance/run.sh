#!/usr/bin/env bash
# rule.md's runs on 2 CPU cores, in $WORK: appearance captions for the
# Brazil tiles (the demo's ($SRC) images and label maps linked), stage 2
# trained on them over the kl6 image VAE ($KL6, ../brazil_image_vae/run.sh;
# about 27 min), both stage 2s painting the real val and test masks
# (stage2.json), alpha 0.4 on the new set at seeds 0-2 with real only and
# oversampling linked from $KL6 (same data and recipe), the filtered arm
# and alpha 1.0 (more_arms.py), the set read by the seed-0 real-only
# segmentor, the colour agreement of both sets (colours.json) and the
# verdict. Run again, each step reuses what is there (a killed stage 2
# starts over: it keeps one checkpoint, at its last epoch).
set -euo pipefail
cd "$(dirname "$0")/../../.."
src=${SRC:-work_dirs/brz}
kl6=${KL6:-work_dirs/bkl6}
work=${WORK:-work_dirs/bapp}
here=docs/results/brazil_appearance
# shellcheck source=lib.sh
source "$here/lib.sh"
data=data/brazil_buildings
seg0=configs/demo/brazil/deeplabv3plus_brazil_syn0.py
bash "$here/appearance_data.sh" "$src/$data" "$work/$data"
for part in mask_small_brazil_numeric_ce_only vae_mask; do
    ln -sfn "$(realpath "$src/$part")" "$work/$part"
done
ln -sfn "$(realpath "$kl6/vae_image")" "$work/vae_image"
export DLDM_DEMO_DIR
DLDM_DEMO_DIR=$(realpath "$work")
train_stage2 "$work"
[ -f "$here/stage2.json" ] || python docs/results/image_vae_texture/paint.py \
    --dataset brazil_buildings "kl6=$kl6" "appearance=$work" \
    --reference "$src/sweep/alpha_0" --out "$here/stage2.json"
link_baselines "$kl6" "$work"
python "$here/run.py" "$work"
python "$here/colours.py" "kl6=$kl6/data/brazil_syn" \
    "appearance=$work/data/brazil_syn" --out "$here/colours.json"
python docs/results/brazil_image_vae/more_arms.py --demo "$src" \
    --work "$work" --name bapp_more --label appearance --out-dir "$here"
out=$work/analysis_appearance
[ "$out/summary.json" -nt "$work/data/brazil_syn/manifest.jsonl" ] || \
    python tools/analyze.py "$work/data/brazil_syn" --real "$work/$data" \
    --config "$seg0" \
    --ref-config "$src/sweep/alpha_0/deeplabv3plus_brazil_syn40.py" \
    --ref-checkpoint "$src/sweep/alpha_0/iter_1500.pth" --grid 8 \
    --out "$out"
cp "$out/summary.json" "$here/set_analysis.json"
cp "$out/samples.png" "$here/samples.png"
python "$here/verdict.py" > "$here/verdict.md"
