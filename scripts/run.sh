#!/usr/bin/env bash
# Set up (first time) and run the VoxTray daemon. Without a display it runs headless and says so.
#   bash scripts/run.sh [run options, e.g. --headless]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
exec .venv/bin/python -m daemon run "$@"
