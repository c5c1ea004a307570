#!/usr/bin/env bash
# Stage 2 on SpaceNet Atlanta with and without the share vector, on 2 CPU
# cores, over the data and image VAE of a demo work dir ($1, default
# work_dirs/atl_s2long: the run that made demo_weights/spacenet_atlanta,
# whose stage 2 is the plain run of seed 0). Skips the runs that finished;
# an interrupted run resumes from its last checkpoint, which this config
# writes at its end only, so in practice it starts again.
set -euo pipefail
demo=${1:-work_dirs/atl_s2long}
out=${2:-work_dirs/s2_shares}
cd "$(dirname "$0")/../../.."
export DLDM_DEMO_DIR=$demo
for run in shares:0 plain:1 shares:1 plain:2 shares:2; do
    kind=${run%%:*}; seed=${run##*:}
    config=configs/demo/atlanta/image_controlnet_small_atlanta.py
    [ "$kind" = shares ] && \
        config=configs/demo/atlanta/image_controlnet_small_atlanta_shares.py
    dir=$out/${kind}_s$seed
    [ -d "$dir/export/final" ] && continue
    resume=()
    [ -f "$dir/last_checkpoint" ] && resume=(--resume)
    start=$(date +%s)
    python tools/train.py "$config" --work-dir "$dir" "${resume[@]}" \
        --cfg-options randomness.seed="$seed"
    echo "$kind seed $seed: $(( $(date +%s) - start )) s" >> "$out/seconds.txt"
done
