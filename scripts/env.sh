#!/usr/bin/env bash
# Create (once) and activate the virtual environment mmccr runs in.
# Sourced by scripts/demo.sh and scripts/test.sh. MMCCR_VENV picks the folder.
set -euo pipefail
VENV=${MMCCR_VENV:-.venv}
STAMP="$VENV/.mmccr-installed"
WANT=$(cat setup.py requirements/*.txt | sha256sum | cut -c1-16)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo ">> installing mmccr into $VENV (first run takes several minutes)"
    [ -d "$VENV" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    # torch first, pinned: these wheels are the tested ones.
    "$VENV/bin/python" -m pip install -q torch==2.14.1 torchvision==0.29.1
    "$VENV/bin/python" -m pip install -q -e '.[tests]'
    echo "$WANT" > "$STAMP"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
