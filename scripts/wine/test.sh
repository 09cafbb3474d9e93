#!/usr/bin/env bash
# Run the Windows test suite (tests_win/) with pytest under the Windows CPython in Wine.
#   bash scripts/wine/test.sh [pytest args]        # e.g. -x, -k winreg, tests_win/test_smoke.py::test_tk...
# scripts/wine/run.sh does the work: builds/uses the cache, gives the run its own copy of the Wine prefix, a
# private Xvfb display with trayer (tray host), then runs pytest from the repo root and ends only what it
# started. Exit status: pytest's.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Default target tests_win/, unless the arguments name tests (a path or node id): then only those run.
targets=(tests_win)
for arg in "$@"; do
  case "$arg" in tests_win* | *.py | *::*) targets=() ;; esac
done
# The heavy tests' models (tests_win/test_heavy_*.py), made on the Linux side: the tiny random-weight XTTS and the
# real Whisper base weights (scripts/wine/models.py; needs the Linux .venv of scripts/setup.sh dev).
if [ -x .venv/bin/python ]; then
  exports="$(.venv/bin/python scripts/wine/models.py)" || { echo "wine-lane: scripts/wine/models.py failed" >&2; exit 1; }
  eval "$exports"
else
  echo "wine-lane: no .venv (bash scripts/setup.sh dev): the heavy tests will say what is missing" >&2
fi
exec bash scripts/wine/run.sh winpy -m pytest "${targets[@]}" -p no:cacheprovider -q "$@"
