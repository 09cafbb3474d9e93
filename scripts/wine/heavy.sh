#!/usr/bin/env bash
# Build the Windows lane's heavy stack: torch 2.11 (+cpu: PyPI's Windows wheel), torchaudio, torchcodec, coqui-tts,
# transformers, faster-whisper + ctranslate2 + onnxruntime, for the official Windows CPython 3.11 under Wine.
# Called by scripts/wine/setup.sh (which holds the cache lock and writes heavy.stamp after this succeeds).
#   <cache>/heavy/   Windows wheels from constraints-win-heavy.txt (~1.6 GB), searched before <cache>/site when
#                    VOXTRAY_WIN_HEAVY is not 0 (site/sitecustomize.py)
# Regenerate the lock: pip install uv==0.13.8 && python3 scripts/wine/pins.py lock-heavy
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/scripts/wine"
CACHE="${VOXTRAY_WINE_CACHE:?}"
HEAVY="$CACHE/heavy"
T0=$SECONDS
log() { echo "wine-lane heavy: $* (+$((SECONDS - T0))s)"; }

rm -rf "$HEAVY"
LOCK="$(mktemp)"
trap 'rm -f "$LOCK"' EXIT
# docopt 0.6.2 (num2words needs it) exists only as a pure-Python sdist: installed on its own below.
grep -v '^#\|^docopt==' "$ROOT/constraints-win-heavy.txt" >"$LOCK"
log "installing Windows wheels (constraints-win-heavy.txt)"
python3 -m pip install -q --disable-pip-version-check --no-deps --no-compile --target "$HEAVY" \
  --platform win_amd64 --python-version 3.11 --implementation cp --only-binary=:all: \
  -r "$LOCK" 2> >(grep -v "^WARNING: \(Running pip as\|Location\|Target directory\)" >&2)
python3 -m pip install -q --disable-pip-version-check --no-deps --no-compile --target "$HEAVY" \
  "$(grep '^docopt==' "$ROOT/constraints-win-heavy.txt")" 2> >(grep -v "^WARNING: \(Running pip as\|Location\)" >&2)
python3 "$HERE/pins.py" check-heavy "$HEAVY" "$CACHE/site"
# Same reason as for the light wheels (setup.sh): the host CPython 3.11 byte-compiles on both cores.
if python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  python3 -m compileall -q -j0 "$HEAVY" >/dev/null 2>&1 || log "compileall: some files did not compile (ignored)"
fi

# Smoke check: the Windows interpreter loads the DLLs that speak and hear (KMP_AFFINITY: see env.sh).
log "checking torch, soxr, ctranslate2 on the Windows interpreter"
(
  export VOXTRAY_WINEPREFIX="$CACHE/prefix"
  # shellcheck source=scripts/wine/env.sh
  source "$HERE/env.sh"
  winpy -c "import torch, soxr, ctranslate2; print('wine-lane heavy: torch', torch.__version__, 'ctranslate2', ctranslate2.__version__)"
  "$WINESERVER" -w
)
du -sh "$HEAVY" | sed 's/^/wine-lane heavy: size /'
log "ready"
