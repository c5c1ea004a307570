#!/usr/bin/env bash
# rule.md's run on 2 CPU cores: the label budget's stage 2 ($BUDGET,
# ../brazil_label_budget/run.sh) trained again with class_balance=0.5 in
# $WORK (its tiles and image VAE linked from $BUDGET), then both stage 2s
# painting the real val and test masks, read by the Brazil demo's ($SRC)
# seed-0 real-only segmentor (stage2.json). Run again, each step reuses
# what is there (training resumes).
set -euo pipefail
cd "$(dirname "$0")/../../.."
src=${SRC:-work_dirs/brz}
budget=${BUDGET:-work_dirs/bbud}
work=${WORK:-work_dirs/bbud_cb}
here=docs/results/stage2_class_balance
config=configs/demo/brazil/image_controlnet_small_brazil.py
# the budget's tiles and image VAE; the synthetic sets stay $work's own
mkdir -p "$work/data"
ln -sfn "$(realpath "$budget/data/brazil_buildings")" \
    "$work/data/brazil_buildings"
ln -sfn "$(realpath "$budget/vae_image")" "$work/vae_image"
dir=$work/$(basename "$config" .py)
if [ ! -d "$dir/export/final/unet" ]; then
    resume=()
    ls "$dir"/epoch_*.pth > /dev/null 2>&1 && resume=(--resume)
    DLDM_DEMO_DIR=$(realpath "$work") python tools/train.py "$config" \
        --work-dir "$dir" ${resume[@]+"${resume[@]}"} --cfg-options \
        randomness.seed=0 train_cfg.max_epochs=488 \
        default_hooks.checkpoint.interval=122 model.class_balance=0.5
fi
[ -f "$here/stage2.json" ] || python docs/results/image_vae_texture/paint.py \
    --dataset brazil_buildings "plain=$budget" "class_balance=$work" \
    --reference "$src/sweep/alpha_0" --out "$here/stage2.json"
