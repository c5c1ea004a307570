#!/usr/bin/env bash
# Exploratory (rule.md's addendum): alpha 0.4 on a set whose target shares
# are the real tiles' own (rarity_exponent 0: no frequency boost of
# roads), 3000 iterations, segmentor seeds 0-2, over the demo work dir of
# run.sh (its generators and data). Writes no_boost.json here.
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=${WORK:-work_dirs/vstrat_demo}
export DLDM_DEMO_DIR=$(realpath "$work")
syn=train_dataloader.dataset.datasets.1
for seed in 0 1 2; do
    python tools/sweep.py configs/demo/vegas/deeplabv3plus_vegas_syn40.py \
        --alphas 0.4 --work-dir "$work/no_boost_3000_seed$seed" \
        --precision-recall road --cfg-options \
        randomness.seed=$seed train_cfg.max_iters=3000 \
        train_cfg.val_interval=3000 default_hooks.checkpoint.interval=3000 \
        $syn.data_root="$DLDM_DEMO_DIR/data/vegas_syn_no_boost" \
        $syn.synthesis.num=375 \
        $syn.synthesis.options.mask_sampling.steps=20 \
        $syn.synthesis.options.image_sampling.steps=20 \
        $syn.synthesis.options.shares.mode=real \
        $syn.synthesis.options.shares.rarity_exponent=0
done
python - "$work" docs/results/vegas_stratified/no_boost.json <<'PY'
import json
import sys

sys.path.insert(0, 'docs/results/synthetic_gain')
from aggregate import load, summarise  # noqa: E402

work, out = sys.argv[1:]
per_seed = {seed: dict(
    test=load(f'{work}/no_boost_3000_seed{seed}/alpha_0.4/metrics.json'),
    val=load(f'{work}/no_boost_3000_seed{seed}/alpha_0.4/val_metrics.json'))
    for seed in (0, 1, 2)}
summary = summarise(per_seed, ['mIoU', 'IoU.road', 'Precision.road',
                               'Recall.road'])
with open(out, 'w', encoding='utf-8') as f:
    json.dump(dict(run='alpha 0.4, shares as the real tiles '
                   '(rarity_exponent 0), 3000 iterations', **summary), f,
              indent=1)
print(json.dumps(summary, indent=1))
PY
