#!/usr/bin/env bash
# Set up (first time) and run every check: ruff, mypy (Linux and --platform win32), the whole test suite.
#   bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
export PYTHONDONTWRITEBYTECODE=1
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy (linux)"; .venv/bin/mypy daemon install_service.py
echo "== mypy (win32)"; .venv/bin/mypy --platform win32 daemon install_service.py
echo "== pytest"; .venv/bin/pytest "$@"
echo "== windows lane (Wine)"; bash scripts/wine/test.sh
