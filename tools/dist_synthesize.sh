#!/usr/bin/env bash
#   bash tools/dist_synthesize.sh CONFIG GPUS [synthesize.py args]
CONFIG=$1
GPUS=$2
PORT=${PORT:-29500}
PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
python -m torch.distributed.run --nproc_per_node=$GPUS --master_port=$PORT \
    $(dirname "$0")/synthesize.py $CONFIG --launcher pytorch ${@:3}
