# Sourced by run.sh and budget.sh here, ../brazil_label_budget/run.sh and
# ../brazil_interleaved/generators.sh.

# train_run WORK CONFIG [OPTION ...]: tools/train.py CONFIG into
# WORK/<config name>, seed 0 and the given --cfg-options, unless its
# export is there; resumes from a checkpoint when one was kept.
train_run() {
    local work=$1 config=$2
    shift 2
    local dir
    dir=$work/$(basename "$config" .py)
    [ -d "$dir/export/final/unet" ] && return
    local resume=()
    ls "$dir"/epoch_*.pth > /dev/null 2>&1 && resume=(--resume)
    python tools/train.py "$config" --work-dir "$dir" \
        ${resume[@]+"${resume[@]}"} --cfg-options randomness.seed=0 "$@"
}

# train_stage2 WORK [OPTION ...]: train_run of stage 2's Brazil demo
# config in WORK over WORK's data and VAEs (DLDM_DEMO_DIR=WORK).
train_stage2() {
    local work=$1
    shift
    DLDM_DEMO_DIR=$(realpath "$work") train_run "$work" \
        configs/demo/brazil/image_controlnet_small_brazil.py "$@"
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
