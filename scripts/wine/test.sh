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
exec bash scripts/wine/run.sh winpy -m pytest "${targets[@]}" -p no:cacheprovider -q "$@"
