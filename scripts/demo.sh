#!/usr/bin/env bash
# Quick start 1: the main job (prompt tuning + CCR, base/new evaluation) on
# the embedded offline demo. Extra arguments go to tools/train.py.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
python tools/train.py configs/demo/coop_ccr_shapes_tiny.py "$@"
