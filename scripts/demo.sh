#!/usr/bin/env bash
# Quick start 1: the main job on the embedded toy world (docs/toyworld.md):
# zero-shot ToyCLIP, CoOp + BCE, CoOp + BCE + CCR and CoOp + ranking loss,
# 16 shots of the base classes, evaluated on base and new classes; a table at
# the end, reliability diagrams and everything else under work_dirs/demo/.
# Extra arguments go to compare_calibrators.py (e.g. --seeds 1 2 3 4 5).
# It runs the configs as a grid (one record per run in
# work_dirs/demo/results.jsonl); configs/grids/demo.py is the same grid for
# tools/run_grid.py + make_tables.py (docs/reproduce.md).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
python tools/analysis_tools/compare_calibrators.py \
    configs/demo/zeroshot_toyworld.py configs/demo/coop_bce_toyworld.py \
    configs/demo/coop_ccr_toyworld.py configs/demo/coop_ranking_toyworld.py \
    --names zero-shot CoOp+BCE CoOp+BCE+CCR CoOp+ranking \
    --work-dir work_dirs/demo \
    --metrics mAP acc ECE ACE PIECE Gap:base,new --plots "$@"
