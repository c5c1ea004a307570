#!/bin/bash
# usage: [D=DATA_ROOT] stage1.sh NAME SEED [cfg options...]
set -e
cd /work/main
NAME=$1; SEED=$2; shift 2
D=${D:-work_dirs/demo/data/toy_landcover}  # the demo's data
W=work_dirs/exp2/$NAME
mkdir -p $W
.venv/bin/python tools/train.py configs/demo/mask_small_toy.py --work-dir $W --cfg-options \
  model.components.vae=demo_weights/vae_mask train_dataloader.dataset.data_root=$D \
  val_dataloader.dataset.data_root=$D test_dataloader.dataset.data_root=$D randomness.seed=$SEED \
  "$@" > $W.log 2>&1
