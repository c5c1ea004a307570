# Stage 2 of the Atlanta demo trained longer on the device, three variants
# side by side; then the synthesis bench at batches 16 and 32.
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 DLDM_DEMO_DIR=$PWD/gpu_carry/atl
nvidia-smi --query-gpu=name,memory.total --format=csv > $OUT/env.txt
CFG=configs/demo/atlanta/image_controlnet_small_atlanta.py
N=125
train() {  # name seed batch epochs
  local ipe=$(( (N + $3 - 1) / $3 ))
  python3 tools/train.py $CFG --work-dir /tmp/wd/$1 --cfg-options randomness.seed=$2 \
    train_dataloader.batch_size=$3 train_cfg.max_epochs=$4 param_scheduler.1.end=$((ipe * $4)) \
    default_hooks.checkpoint.interval=$4 custom_hooks.2.interval=$((ipe * $4)) > $OUT/$1.log 2>&1
}
# probe: 20 iterations each, the three at once
train probe_b16 0 16 8 & train probe_b64a 0 64 30 & train probe_b64b 1 64 30 & wait
echo "probe done at $(( $(date +%s) - T0 )) s"
ls /tmp/wd/probe_b16/export/final || { tail -30 $OUT/probe_b16.log; exit 1; }
sit() { grep -o " time: [0-9.]*" $OUT/$1.log | tail -1 | awk '{print $2}'; }
BUDGET=${BUDGET:-300}
E16=$(python3 -c "print(int($BUDGET / ($(sit probe_b16) * 8)))")
E64=$(python3 -c "print(int($BUDGET / ($(sit probe_b64a) * 2)))")
echo "s/iter b16 $(sit probe_b16) b64 $(sit probe_b64a) $(sit probe_b64b) -> epochs b16 $E16 b64 $E64"
rm -rf /tmp/wd/probe_*
train b16_s0 0 16 $E16 & train b64_s0 0 64 $E64 & train b64_s1 1 64 $E64 & wait
echo "training done at $(( $(date +%s) - T0 )) s"
for n in b16_s0 b64_s0 b64_s1; do
  mkdir -p $OUT/export/$n && cp -r /tmp/wd/$n/export/final/* $OUT/export/$n/ || tail -20 $OUT/$n.log
done
REM=$(( ${LIMIT:-540} - 15 - ($(date +%s) - T0) ))
echo "synthesis bench with $REM s left"
[ $REM -gt 60 ] && timeout $REM python3 bench/synthesis_speed.py --preset sd15 --size 512 --num 32 --stock-num 1 --batch-size 16 32 > $OUT/synthesis_speed_batches.log 2>&1
echo "all done at $(( $(date +%s) - T0 )) s"
