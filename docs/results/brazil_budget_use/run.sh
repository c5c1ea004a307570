#!/usr/bin/env bash
# rule.md on 2 CPU cores, over the 90-tile budget's work dir ($BUDGET,
# ../brazil_label_budget/run.sh) and its appearance set ($WORK,
# ../brazil_appearance/budget.sh and seeds.sh): the alpha sweep and the
# first addendum's eroded arms (sweep.py; 31 new segmentors, about 1.5
# min each), synthetic pre-training then real fine-tuning
# (../pretrain_finetune/run.py; 20 runs, about 1 min each), the second
# addendum's real BatchNorm statistics on every arm's last checkpoint
# (real_bn.py; 70 evaluations, a few seconds each), the third
# addendum's real only at 3000 iterations (long_real.py; 5 runs, about
# 3.5 min each), the fourth addendum's logit biases on every arm's last
# checkpoint (calibration.py; 65 evaluations, a few seconds each), the
# fifth addendum's oversampling and synthetic arms at 3000 iterations
# (long_synthetic.py; 15 runs, about 3.5 min each), the block-by-block
# diagnostic (blocks.py, under a minute), then the reading (verdict.py).
# Finished runs are reused.
set -euo pipefail
cd "$(dirname "$0")/../../.."
budget=${BUDGET:-work_dirs/bbud}
work=${WORK:-work_dirs/bbud_app}
here=docs/results/brazil_budget_use
python "$here/sweep.py" --budget "$budget" --work "$work"
DLDM_DEMO_DIR=$(realpath "$work") python \
    docs/results/pretrain_finetune/run.py \
    configs/demo/brazil/deeplabv3plus_brazil_syn40.py \
    --out "$work/pretrain_finetune" --name pretrain --rare building \
    --seeds 0 1 2 3 4 --out-dir "$here"
python "$here/real_bn.py" --budget "$budget" --work "$work"
python "$here/long_real.py" --work "$work"  # addendum 3
python "$here/calibration.py" --budget "$budget" --work "$work"  # addendum 4
python "$here/long_synthetic.py" --budget "$budget" --work "$work"  # addendum 5
python "$here/blocks.py" --budget "$budget" --work "$work"
python "$here/verdict.py" > "$here/verdict.md"
