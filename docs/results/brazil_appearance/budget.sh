#!/usr/bin/env bash
# rule.md's addendum on 2 CPU cores: the lever at the 90-tile label budget
# ($BUDGET, ../brazil_label_budget/run.sh), in $WORK: appearance captions
# of the budget's tiles, stage 2 trained on them with the budget's recipe
# (its image VAE, 488 epochs; about 22 min), both stage 2s on the real
# val and test masks (stage2_budget.json), alpha 0.4 on the new set at
# seeds 0-2 beside the budget's real only and oversampling (linked), the
# filtered arm and alpha 1.0, the colour agreement (colours_budget.json)
# and the verdict. Run again, each step reuses what is there (training
# resumes from its last 122-epoch checkpoint).
set -euo pipefail
cd "$(dirname "$0")/../../.."
src=${SRC:-work_dirs/brz}
budget=${BUDGET:-work_dirs/bbud}
work=${WORK:-work_dirs/bbud_app}
here=docs/results/brazil_appearance
# shellcheck source=lib.sh
source "$here/lib.sh"
data=data/brazil_buildings
bash "$here/appearance_data.sh" "$budget/$data" "$work/$data"
for part in mask_small_brazil_numeric_ce_only vae_mask vae_image; do
    ln -sfn "$(realpath "$budget/$part")" "$work/$part"
done
export DLDM_DEMO_DIR
DLDM_DEMO_DIR=$(realpath "$work")
train_stage2 "$work" train_cfg.max_epochs=488 \
    default_hooks.checkpoint.interval=122
[ -f "$here/stage2_budget.json" ] || python \
    docs/results/image_vae_texture/paint.py --dataset brazil_buildings \
    "budget=$budget" "appearance=$work" --reference "$src/sweep/alpha_0" \
    --out "$here/stage2_budget.json"
link_baselines "$budget" "$work"
python "$here/run.py" "$work" --name bbud_app_1500
python "$here/colours.py" "budget=$budget/data/brazil_syn" \
    "appearance=$work/data/brazil_syn" --out "$here/colours_budget.json"
python docs/results/brazil_image_vae/more_arms.py --demo "$src" \
    --work "$work" --reference "$budget/segmentors/seed0/real" \
    --label budget_appearance --name bbud_app_more --out-dir "$here"
python "$here/verdict.py" > "$here/verdict.md"
