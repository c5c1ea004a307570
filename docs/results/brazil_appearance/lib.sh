# Sourced by run.sh and budget.sh here, ../brazil_label_budget/run.sh and
# ../brazil_interleaved/generators.sh.

# train_stage2 WORK [OPTION ...]: stage 2 of the Brazil demo config in
# WORK/image_controlnet_small_brazil over WORK's data and VAEs
# (DLDM_DEMO_DIR=WORK), seed 0 and the given --cfg-options, unless its
# export is there; resumes from a checkpoint when one was kept.
train_stage2() {
    local work=$1
    shift
    local stage2=$work/image_controlnet_small_brazil
    [ -d "$stage2/export/final/unet" ] && return
    local resume=()
    ls "$stage2"/epoch_*.pth > /dev/null 2>&1 && resume=(--resume)
    DLDM_DEMO_DIR=$(realpath "$work") python tools/train.py \
        configs/demo/brazil/image_controlnet_small_brazil.py \
        --work-dir "$stage2" ${resume[@]+"${resume[@]}"} \
        --cfg-options randomness.seed=0 "$@"
}

# link_baselines FROM WORK: FROM's real-only and oversampling runs of
# seeds 0-2 linked into WORK/segmentors (same data and recipe).
link_baselines() {
    local from=$1 work=$2 seed run
    for seed in 0 1 2; do
        mkdir -p "$work/segmentors/seed$seed"
        for run in real oversample40; do
            ln -sfn "$(realpath "$from/segmentors/seed$seed/$run")" \
                "$work/segmentors/seed$seed/$run"
        done
    done
}

# fit_vae DATA OUT OPTION ...: tools/fit_vae.py on DATA into OUT (the
# Brazil demo's dataset config, 32 px crops, seed 0), unless OUT is there;
# resumes a killed fit.
fit_vae() {
    local data=$1 out=$2
    shift 2
    [ -f "$out/config.json" ] && return
    local resume=()
    [ -f "${out}_fit/last_checkpoint" ] && resume=(--resume)
    python tools/fit_vae.py "$data" --out "$out" \
        --config configs/demo/brazil/deeplabv3plus_brazil_syn0.py \
        --crop-size 32 --seed 0 ${resume[@]+"${resume[@]}"} "$@"
}
