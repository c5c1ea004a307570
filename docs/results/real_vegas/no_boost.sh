#!/usr/bin/env bash
# Alpha 0.4 on a set whose target shares are the real tiles' own
# (rarity_exponent 0: no frequency boost of roads), segmentor seeds 0-2,
# over the demo work dir of run.sh (its generators and data).
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=${WORK:-work_dirs/vegas_demo}
export DLDM_DEMO_DIR=$(realpath "$work")
syn=train_dataloader.dataset.datasets.1
for seed in 0 1 2; do
    python tools/sweep.py configs/demo/vegas/deeplabv3plus_vegas_syn40.py \
        --alphas 0.4 --work-dir "$work/no_boost_seed$seed" --cfg-options \
        randomness.seed=$seed \
        $syn.data_root="$DLDM_DEMO_DIR/data/vegas_syn_no_boost" \
        $syn.synthesis.num=375 \
        $syn.synthesis.options.mask_sampling.steps=20 \
        $syn.synthesis.options.image_sampling.steps=20 \
        $syn.synthesis.options.shares.mode=real \
        $syn.synthesis.options.shares.rarity_exponent=0
done
python - "$work" docs/results/real_vegas/no_boost.json <<'PY'
import json
import sys

import numpy as np

work, out = sys.argv[1:]
per_seed = {}
for seed in (0, 1, 2):
    run = f'{work}/no_boost_seed{seed}/alpha_0.4'
    per_seed[seed] = {split: json.load(open(f'{run}/{name}'))
                      for split, name in (('test', 'metrics.json'),
                                          ('val', 'val_metrics.json'))}
summary = {split: {key: dict(
    mean=float(np.mean([per_seed[s][split][key] for s in per_seed])),
    std=float(np.std([per_seed[s][split][key] for s in per_seed], ddof=1)),
    per_seed=[per_seed[s][split][key] for s in per_seed])
    for key in ('mIoU', 'IoU.road')} for split in ('val', 'test')}
json.dump(dict(run='alpha 0.4, shares as the real tiles (rarity_exponent 0)',
               seeds=[0, 1, 2], **summary), open(out, 'w'), indent=1)
print(json.dumps(summary, indent=1))
PY
