#!/bin/bash
# stage 1 at 200 epochs: CE only seed 0, then both models for seeds 1 and 2
cd /work/main
E="train_cfg.max_epochs=200 param_scheduler.1.end=2000 default_hooks.checkpoint.interval=200 custom_hooks.1.interval=2000 train_cfg.val_interval=40"
for job in "e200_ce_s0 0 model.prop_weight=0.0" "e200_s1 1" "e200_s2 2" "e200_ce_s1 1 model.prop_weight=0.0" "e200_ce_s2 2 model.prop_weight=0.0"; do
  set -- $job
  start=$(date +%s)
  D=work_dirs/demo_v5/data/toy_landcover bash docs/results/lprop/stage1.sh $1 $2 $E $3
  echo "$1 $(( $(date +%s) - start )) s" >> work_dirs/exp2/e200_times.txt
done
