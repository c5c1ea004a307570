#!/usr/bin/env bash
# rule.md's runs on 2 CPU cores, over the label budget's work dir
# ($BUDGET, ../brazil_label_budget/run.sh) and the kl6 work dir ($FULL,
# ../brazil_image_vae/run.sh), with the Brazil demo's ($SRC) seed-0
# real-only segmentor as the reader: the real-mask arms and the
# addendum's filtered arms (run.py), both real-mask sets read by the
# segmentor (tools/analyze.py: set_analysis_*.json, samples_*.png),
# which way they miss their masks (confusion.py), the verdict.
# Run again, each step reuses what is there.
set -euo pipefail
cd "$(dirname "$0")/../../.."
src=${SRC:-work_dirs/brz}
budget=${BUDGET:-work_dirs/bbud}
full=${FULL:-work_dirs/bkl6}
here=docs/results/brazil_real_masks
python "$here/run.py" "budget=$budget" "full=$full" \
    --filter "budget=$budget/segmentors/seed0/real" \
    "full=$src/sweep/alpha_0"
for name in budget:"$budget" full:"$full"; do
    folder=${name#*:}
    bash "$here/read_set.sh" "$folder" "$src"
    cp "$folder/analysis_real_masks/summary.json" \
        "$here/set_analysis_${name%%:*}.json"
    cp "$folder/analysis_real_masks/samples.png" \
        "$here/samples_${name%%:*}.png"
done
python "$here/confusion.py" "budget=$budget" "full=$full" \
    --reference "$src/sweep/alpha_0"
python "$here/verdict.py" > "$here/verdict.md"
