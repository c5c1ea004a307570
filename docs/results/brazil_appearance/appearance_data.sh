#!/usr/bin/env bash
# appearance_data.sh FROM TO: a Brazil data folder TO whose images, label
# maps and metadata are links to FROM's, with captions of its own for the
# train, val and test tiles written by tools/caption.py --appearance
# (reused when complete).
set -euo pipefail
from=$1
to=$2
mkdir -p "$to"
for part in img_dir ann_dir label_map.png split_map.png summary.json \
        dataset.py; do
    ln -sfn "$(realpath "$from/$part")" "$to/$part"
done
for split in train val test; do
    out=captions_$split.jsonl
    [ "$split" = train ] && out=captions.jsonl
    python tools/caption.py "$to" \
        --config configs/demo/brazil/deeplabv3plus_brazil_syn0.py \
        --split "$split" --out "$out" --appearance
done
