#!/usr/bin/env bash
# rule_more.md's runs: stratified Las Vegas ($WORK, over the sweep's runs,
# seeds 0-5), its verdict, then val's pick on SpaceNet Atlanta ($ATLANTA,
# seeds 0-5) and the plain Las Vegas deal ($PLAIN, seeds 0-2) beside the
# runs already there, and their verdicts. About 45 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=${WORK:-work_dirs/vstrat_demo}
atlanta=${ATLANTA:-work_dirs/atl_pf}
plain=${PLAIN:-work_dirs/vegas_demo}
here=docs/results/vegas_both
vegas=(configs/demo/vegas/deeplabv3plus_vegas_syn40.py
       configs/demo/vegas/deeplabv3plus_vegas_oversample40.py)
DLDM_DEMO_DIR=$(realpath "$work") python "$here/run.py" "${vegas[@]}" \
    --out "$work/sweep_w1" --name vegas_more_1500 --rare road \
    --seeds 3 4 5 0 1 2 --sweep 1.0 2.0 --mix 1.0:0.2
python "$here/verdict.py" vegas_more | tee "$here/verdict_more.md"
pick=$(python -c "import json; print(json.load(open('$here/verdict_more.json'))['pick'])")
case $pick in
    alpha_1.0_os_0.2) arm=(--mix 1.0:0.2) ;;
    alpha_*) arm=(--sweep "${pick#alpha_}") ;;
    *) echo "unknown pick $pick" >&2; exit 1 ;;
esac
DLDM_DEMO_DIR=$(realpath "$atlanta") python "$here/run.py" \
    configs/demo/atlanta/deeplabv3plus_atlanta_syn40.py \
    configs/demo/atlanta/deeplabv3plus_atlanta_oversample40.py \
    --out "$atlanta/both" --name atlanta_more_1500 --rare building \
    --seeds 0 1 2 3 4 5 "${arm[@]}"
python "$here/verdict.py" atlanta_more | tee "$here/verdict_atlanta_more.md"
DLDM_DEMO_DIR=$(realpath "$plain") python "$here/run.py" "${vegas[@]}" \
    --out "$plain/both" --name vegas_plain_more_1500 --rare road \
    --seeds 0 1 2 "${arm[@]}"
python "$here/verdict.py" vegas_plain_more \
    | tee "$here/verdict_plain_more.md"
