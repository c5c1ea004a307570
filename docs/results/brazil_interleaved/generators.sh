#!/usr/bin/env bash
# The generators of rule.md on 2 CPU cores, remade on the interleaved deal
# of the Brazil scene: its train tiles are the plain deal's, so this is
# ../brazil_label_budget/run.sh's and ../brazil_appearance/budget.sh's
# recipe for the 90-tile budget's appearance set, step for step (49 min
# measured). $SRC gets the scene (tools/get_benchmark.py
# brazil_buildings_interleaved) and its captions, $BUDGET the budget
# (its mask VAE, image VAE over all of $SRC's train images, stage 1),
# $WORK the appearance captions and stage 2. Run again, each step reuses
# what is there (training resumes).
set -euo pipefail
cd "$(dirname "$0")/../../.."
src=${SRC:-work_dirs/bint_src}
budget=${BUDGET:-work_dirs/bint_bud}
work=${WORK:-work_dirs/bint}
data=data/brazil_buildings
demo=configs/demo/brazil
seg0=$demo/deeplabv3plus_brazil_syn0.py
python tools/get_benchmark.py brazil_buildings_interleaved --out "$src/$data"
for split in train val test; do
    out=captions_$split.jsonl
    [ "$split" = train ] && out=captions.jsonl
    [ -f "$src/$data/$out" ] || python tools/caption.py "$src/$data" \
        --config "$seg0" --split "$split" --out "$out"
done
python tools/label_budget.py "$src/$data" --out "$budget/$data" \
    --train-tiles 90 --seed 0
here=docs/results/brazil_appearance
# shellcheck source=../brazil_appearance/lib.sh
source "$here/lib.sh"
export DLDM_DEMO_DIR
DLDM_DEMO_DIR=$(realpath "$budget")
fit_vae "$budget/$data" "$budget/vae_mask" --iters 800 --kl-weight 1e-4 \
    --class-balance 0.5 --content masks
fit_vae "$src/$data" "$budget/vae_image" --iters 2400 --kl-weight 1e-6 \
    --class-balance 0 --content images
train_run "$budget" "$demo/mask_small_brazil_numeric_ce_only.py" \
    train_cfg.max_epochs=158 default_hooks.checkpoint.interval=158 \
    train_cfg.val_interval=158
bash "$here/appearance_data.sh" "$budget/$data" "$work/$data"
for part in mask_small_brazil_numeric_ce_only vae_mask vae_image; do
    ln -sfn "$(realpath "$budget/$part")" "$work/$part"
done
train_stage2 "$work" train_cfg.max_epochs=488 \
    default_hooks.checkpoint.interval=122
