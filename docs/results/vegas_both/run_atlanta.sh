#!/usr/bin/env bash
# rule_atlanta.md's runs over the Atlanta demo work dir ($WORK, made by
# python tools/demo.py --dataset spacenet_atlanta --work-dir $WORK; its
# synthetic set is reused), seeds 0-5, then the verdict. About 40 min on 2
# cores.
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=${WORK:-work_dirs/atl_pf}
here=docs/results/vegas_both
DLDM_DEMO_DIR=$(realpath "$work") python "$here/run.py" \
    configs/demo/atlanta/deeplabv3plus_atlanta_syn40.py \
    configs/demo/atlanta/deeplabv3plus_atlanta_oversample40.py \
    --out "$work/both" --name atlanta_both_1500 --rare building \
    --seeds 0 1 2 3 4 5 --both 0.2
python "$here/verdict.py" atlanta | tee "$here/verdict_atlanta.md"
