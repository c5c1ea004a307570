#!/usr/bin/env bash
# rule.md's runs on 2 CPU cores: the 90-tile budget of the Brazil demo's
# data ($SRC) in $WORK; the image VAE on all of $SRC's train images with
# no label (KL 1e-6, class balance 0); the mask VAE, stage 1 and stage 2
# on the budget; the segmentors (seeds 0-2, 1500 iterations), the
# filtered arm and alpha 1.0; stage 2 on the real masks beside the
# full data's kl6 stage 2 ($FULL); the verdict.
# Run again, each step reuses what is there (training resumes).
set -euo pipefail
cd "$(dirname "$0")/../../.."
src=${SRC:-work_dirs/brz}
full=${FULL:-work_dirs/bkl6}
work=${WORK:-work_dirs/bbud}
here=docs/results/brazil_label_budget
data=data/brazil_buildings
demo=configs/demo/brazil
python tools/label_budget.py "$src/$data" --out "$work/$data" \
    --train-tiles 90 --seed 0
export DLDM_DEMO_DIR
DLDM_DEMO_DIR=$(realpath "$work")
# shellcheck source=../brazil_appearance/lib.sh
source docs/results/brazil_appearance/lib.sh
fit_vae "$work/$data" "$work/vae_mask" --iters 800 --kl-weight 1e-4 \
    --class-balance 0.5 --content masks
fit_vae "$src/$data" "$work/vae_image" --iters 2400 --kl-weight 1e-6 \
    --class-balance 0 --content images
train_run "$work" "$demo/mask_small_brazil_numeric_ce_only.py" \
    train_cfg.max_epochs=158 default_hooks.checkpoint.interval=158 \
    train_cfg.val_interval=158
train_run "$work" "$demo/image_controlnet_small_brazil.py" \
    train_cfg.max_epochs=488 default_hooks.checkpoint.interval=122
python docs/results/long_schedule/run.py \
    "$demo/deeplabv3plus_brazil_syn40.py" \
    "$demo/deeplabv3plus_brazil_oversample40.py" \
    --iters 1500 --out "$work/segmentors" --name bbud_1500 \
    --rare building --out-dir "$here"
python docs/results/brazil_image_vae/more_arms.py --demo "$src" \
    --work "$work" --reference "$work/segmentors/seed0/real" \
    --label budget --name bbud_more --out-dir "$here"
[ -f "$here/stage2.json" ] || python docs/results/image_vae_texture/paint.py \
    --dataset brazil_buildings "full=$full" "budget=$work" \
    --reference "$src/sweep/alpha_0" --out "$here/stage2.json"
python "$here/verdict.py" > "$here/verdict.md"
