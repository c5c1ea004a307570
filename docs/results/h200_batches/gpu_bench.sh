# The GPU figures still missing after the first H200 run: synthesis at
# batches 16 and 32 and with torch.compile, then stage 1 and 2 in fp32
# with latents cached and with numeric share conditioning. Each bench
# writes straight into $OUT and prints each figure as measured, so a run
# cut by the time limit keeps what it measured.
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > $OUT/env.txt
python3 -c "import torch, diffusers, mmseg, mmengine, peft, transformers as t; print('torch', torch.__version__, 'diffusers', diffusers.__version__, 'mmseg', mmseg.__version__, 'mmengine', mmengine.__version__, 'peft', peft.__version__, 'transformers', t.__version__)" >> $OUT/env.txt 2>&1
left() { echo $(( ${LIMIT:-500} - ($(date +%s) - T0) )); }
echo "setup done at $(( $(date +%s) - T0 )) s"
timeout $(( $(left) - 150 )) python3 bench/synthesis_speed.py --preset sd15 \
    --size 512 --num 32 --stock-num 1 --batch-size 16 32 --compile \
    > $OUT/synthesis_speed.log 2>&1
rc=$?
echo "synthesis done at $(( $(date +%s) - T0 )) s, rc $rc"
timeout $(( $(left) - 10 )) python3 bench/generator_train_step.py \
    --preset sd15 --size 512 --iters 3 --setups fp32_shares fp32_cached fp32 \
    > $OUT/generator_train_step.log 2>&1
rc=$?
echo "generator bench rc $rc, done at $(( $(date +%s) - T0 )) s"
