#!/bin/bash
# usage: stage2.sh NAME SEED EPOCHS [VAE] [cfg options...]
# Trains the demo's stage 2 (configs/demo/image_controlnet_small_toy.py) on
# the demo's data for EPOCHS epochs (warm-up + cosine stretched to match)
# into work_dirs/exp9/NAME; VAE defaults to the shipped demo_weights/vae_image.
set -e
cd /work/main
NAME=$1; SEED=$2; E=$3; VAE=${4:-demo_weights/vae_image}; shift 3; shift || true
D=${D:-work_dirs/demo_v5/data/toy_landcover}
W=work_dirs/exp9/$NAME
mkdir -p $W
/usr/bin/time -f "%e s" .venv/bin/python tools/train.py configs/demo/image_controlnet_small_toy.py --work-dir $W --cfg-options \
  model.components.vae=$VAE train_dataloader.dataset.data_root=$D randomness.seed=$SEED \
  train_cfg.max_epochs=$E param_scheduler.1.end=$((10 * E)) default_hooks.checkpoint.interval=$E \
  custom_hooks.1.interval=$((10 * E)) "$@" > $W.log 2>&1
