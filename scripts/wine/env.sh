# shellcheck shell=bash
# Windows lane environment: source it (after scripts/wine/setup.sh built the cache), then use `winpy`.
#   source scripts/wine/env.sh
#   winpy -c "import sys; print(sys.platform)"        # Windows CPython 3.11 under Wine -> win32
# Exports:
#   VOXTRAY_WINE_CACHE  the shared cache (python/, site/, prefix/); default ~/.cache/voxtray-wine
#   WINEPREFIX          $VOXTRAY_WINEPREFIX if set (scripts/wine/test.sh sets a per-run copy), else the cache's
#                       template prefix
#   WINEDEBUG=-all      (an explicit WINEDEBUG, e.g. +file, is kept for debugging)
#   WINEDLLOVERRIDES    no winemenubuilder (it would write .desktop files into the host's ~/.local), no
#                       Mono/Gecko install prompts
#   WINE, WINESERVER    /usr/lib/wine/wine64, /usr/lib/wine/wineserver (Debian puts no `wine` on PATH)
#   WINPY, WINPYW       Unix paths of python.exe / pythonw.exe
#   VOXTRAY_WIN_PROJECT this checkout as a Z:\ path; the cache's sitecustomize.py puts it first on sys.path
#                       (the embeddable CPython ignores PYTHONPATH)
#   KMP_AFFINITY        disabled (Wine lacks an API Intel OpenMP calls; see below)

_voxtray_wine_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export VOXTRAY_WINE_CACHE="${VOXTRAY_WINE_CACHE:-$HOME/.cache/voxtray-wine}"
export WINEPREFIX="${VOXTRAY_WINEPREFIX:-$VOXTRAY_WINE_CACHE/prefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="winemenubuilder.exe=d;mscoree=;mshtml="
export WINE=/usr/lib/wine/wine64
export WINESERVER=/usr/lib/wine/wineserver
export WINPY="$VOXTRAY_WINE_CACHE/python/python.exe"
export WINPYW="$VOXTRAY_WINE_CACHE/python/pythonw.exe"
export VOXTRAY_WIN_PROJECT="Z:${_voxtray_wine_root//\//\\}"
# Intel OpenMP (libiomp5md.dll, in torch and ctranslate2) calls GetNumaNodeProcessorMaskEx, which Wine 8 lacks
# ("OMP: Error #179"). A Wine artefact: real Windows does not need it, so it is set here, never in the product.
export KMP_AFFINITY=disabled
unset _voxtray_wine_root

# Run the Windows python.exe with the given arguments; exit status is python's.
# Why the plumbing: under Wine 8.0, CPython dies at startup ("init_sys_streams: can't initialize sys standard
# streams ... Invalid handle") when any std handle is closed OR a regular file (e.g. `> log.txt`, or a CI runner
# that sends output to a file); a pipe or /dev/null works. So stdin is /dev/null and stdout/stderr always go
# through `cat`. The subshell keeps pipefail local; `wait $!` lets the stderr copier finish before we return.
winpy() (
  set -o pipefail
  "$WINE" "$WINPY" "$@" </dev/null 2> >(cat >&2) | cat
  rc=$?
  wait "${!:-}" 2>/dev/null || true
  exit "$rc"
)
