#!/usr/bin/env bash
# Exploratory (rule.md's second addendum): alpha 0.4 on the class-relative
# filtered set (the demo's --class-filter), 1500 iterations, segmentor
# seeds 0-2, added to the demo work dir of run.sh (every other run there
# is reused). Writes filter_1500.{json,md} and filter_verdict.json here.
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=${WORK:-work_dirs/vstrat_demo}
here=docs/results/vegas_stratified
demo_args=(--dataset spacenet_vegas_roads_stratified --work-dir "$work"
           --alphas 0 0.4 --class-filter)
python tools/demo.py "${demo_args[@]}"
python docs/results/real_atlanta_labels_fixed/segmentor_seeds.py \
    --seeds-of-segmentors 1 2 --out "$work/filter_segmentor_seeds.json" -- \
    "${demo_args[@]}"
python docs/results/synthetic_gain/aggregate.py "$work" \
    --name filter_1500 --rare road --precision-recall --no-pick \
    --out-dir "$here" > "$here/filter_1500.md"
python - "$here" <<'PY'
import json
import sys

sys.path.insert(0, 'docs/results/synthetic_gain')
from aggregate import issue_bar, load  # noqa: E402

here = sys.argv[1]
summary = load(f'{here}/filter_1500.json')
runs = summary['runs']
assert all(runs[r]['seeds'] == [0, 1, 2] for r in runs), runs.keys()
verdict = issue_bar(runs, 'alpha_0.4_class_filter',
                    ['alpha_0', 'oversample40'], 'road')
verdict['ignored_share'] = summary['filter_ignored_share']
with open(f'{here}/filter_verdict.json', 'w', encoding='utf-8') as f:
    json.dump(verdict, f, indent=1)
print(json.dumps(verdict, indent=1))
PY
