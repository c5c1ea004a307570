#!/usr/bin/env bash
# One entry point that installs what it needs, then runs:
#   bash tools/run.sh demo [--quick]   the main job (tools/demo.py)
#   bash tools/run.sh test [pytest args]   the test suite
# The virtual environment (.venv, or $DLDM_VENV) is created on first use and
# reinstalled when requirements/ or setup.py change.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${DLDM_VENV:-.venv}
PYTHON=${PYTHON:-python3}
STAMP="$VENV/.dldm-requirements"
WANT=$(cat requirements/runtime.txt requirements/tests.txt setup.py | sha256sum | cut -d' ' -f1)

if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
    echo "[setup] installing into $VENV (a few minutes the first time)"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip wheel setuptools
    # torch first and exactly pinned: on a CPU machine this is the local CPU
    # wheel; an unpinned torch would pull a newer build with GBs of CUDA.
    "$VENV/bin/pip" install -q "$(grep -E '^torch==' requirements/runtime.txt)"
    "$VENV/bin/pip" install -q -r requirements/runtime.txt -r requirements/tests.txt
    "$VENV/bin/pip" install -q --no-deps --no-build-isolation -e .
    echo "$WANT" > "$STAMP"
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg
command=${1:-}
shift || true
case "$command" in
    test) exec "$VENV/bin/python" -m pytest tests "$@" ;;
    demo) exec "$VENV/bin/python" tools/demo.py "$@" ;;
    *) echo "usage: bash tools/run.sh {demo|test} [args]" >&2; exit 2 ;;
esac
