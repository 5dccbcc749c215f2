#!/usr/bin/env bash
# Quick start 2: lint and the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
ruff check .
python -m pytest -q "$@"
