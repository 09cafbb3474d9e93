#!/usr/bin/env bash
# Run a command in the Windows lane's session: the Windows CPython under Wine, a display, a tray.
#   bash scripts/wine/run.sh winpy -m daemon run        # `winpy ...`: the Windows python.exe (env.sh)
#   bash scripts/wine/run.sh bash -c 'winpy x.py & sleep 5; import -window root shot.png'
# scripts/wine/test.sh runs pytest through it. Builds the cache first if needed (scripts/wine/setup.sh), then,
# for this run only:
#   - a throwaway copy of the template Wine prefix (registry, C:\users): tests start from a clean Windows and
#     concurrent runs (other checkouts) do not share a wineserver;
#   - a private Xvfb display (Xvfb picks a free number itself, -displayfd) with trayer as the system tray host
#     (Wine docks Shell_NotifyIcon icons, e.g. pystray's win32 backend, into an XEmbed tray);
#   - audio: ALSA_CONFIG_PATH naming a file tests may rewrite ($VOXTRAY_WIN_ASOUND), and a private PulseAudio
#     null sink (pcm.voxtray_pulse) as a real clock; see the comment below and FINDINGS.md (c).
# On exit it ends only what it started: the run's wineserver (`wineserver -k` with the run's own prefix), then
# pulseaudio, trayer and Xvfb by PID. Exit status: the command's.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
T0=$SECONDS
CACHE="${VOXTRAY_WINE_CACHE:-$HOME/.cache/voxtray-wine}"
mkdir -p "$CACHE"
# Hold the cache shared for the whole run: a rebuild (another checkout's setup.sh) waits until we are done.
exec 8>"$CACHE/.lock"
flock -s 8
VOXTRAY_WINE_LOCK_FD=8 bash scripts/wine/setup.sh

RUN="$(mktemp -d "$CACHE/run.XXXXXX")"
echo "$$" >"$RUN/owner"
PIDS=()
# shellcheck disable=SC2317  # invoked by the traps
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -d "$RUN/prefix" ]; then
    WINEPREFIX="$RUN/prefix" /usr/lib/wine/wineserver -k 2>/dev/null || true
  fi
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do wait "${PIDS[i]}" 2>/dev/null || true; done
  rm -rf "$RUN"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs killed hard (SIGKILL, power loss) leave their run.* folder behind: drop those whose owner is gone.
for old in "$CACHE"/run.*; do
  if [ "$old" = "$RUN" ] || [ ! -d "$old" ]; then continue; fi
  owner="$(cat "$old/owner" 2>/dev/null || true)"
  if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then rm -rf "$old"; fi
done

# Per-run prefix: hard links to the template's files (~0.2 s instead of copying ~700 MB), but real copies of
# what Wine rewrites in place: the registry hives. Wine replaces other files it changes, it does not edit them.
cp -al "$CACHE/prefix" "$RUN/prefix" 2>/dev/null || cp -a "$CACHE/prefix" "$RUN/prefix"
for f in "$CACHE"/prefix/*.reg "$CACHE/prefix/.update-timestamp"; do
  rm -f "$RUN/prefix/${f##*/}"
  cp -p "$f" "$RUN/prefix/"
done
export VOXTRAY_WINEPREFIX="$RUN/prefix"
# shellcheck source=scripts/wine/env.sh
source scripts/wine/env.sh

# No D-Bus session: with DISPLAY set, libdbus (in pulseaudio, Wine) would autolaunch a session bus that outlives
# nothing we track. Nothing in the lane needs one.
export DBUS_SESSION_BUS_ADDRESS="disabled:"

# Private X display; Xvfb writes its number to -displayfd once it accepts connections.
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp -noreset 3>"$RUN/display" >"$RUN/xvfb.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do
  grep -q . "$RUN/display" 2>/dev/null && break
  kill -0 "${PIDS[0]}" 2>/dev/null || break
  sleep 0.05
done
grep -q . "$RUN/display" 2>/dev/null || { cat "$RUN/xvfb.log" >&2; echo "wine-lane: Xvfb did not start" >&2; exit 1; }
DISPLAY=":$(head -n1 "$RUN/display")"
export DISPLAY

# System tray host; ready once its panel window exists (it owns _NET_SYSTEM_TRAY_S0 before mapping it).
trayer --edge top --align right --widthtype request --height 32 --expand false --SetDockType true \
  >"$RUN/trayer.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do
  xwininfo -root -tree 2>/dev/null | grep -q '("panel" "trayer")' && break
  sleep 0.05
done
xwininfo -root -tree | grep -q '("panel" "trayer")' || { cat "$RUN/trayer.log" >&2; echo "wine-lane: trayer did not start" >&2; exit 1; }

# Audio. Wine's ALSA driver reads ALSA_CONFIG_PATH from the Unix environment the Wine process started with: a
# Windows process cannot change it for its children (their env= does not reach the Unix side). So the lane
# fixes the path here and tests rewrite the FILE: $VOXTRAY_WIN_ASOUND (Windows path of $RUN/asound.conf, read
# last, so its pcm.!default wins) before they start the process that plays. Default: a null device.
# asound-base.conf defines pcm.voxtray_pulse: a private PulseAudio null sink (48 kHz mono), a real clock to put
# behind an ALSA `file` PCM, as tests/fixtures/audio.py does on Linux (started only if pulseaudio is installed).
printf 'pcm.!default { type null }\n' >"$RUN/asound.conf"
: >"$RUN/asound-base.conf"
if command -v pulseaudio >/dev/null; then
  mkdir -p "$RUN/pulse/run"
  printf '%s\n' "load-module module-native-protocol-unix auth-anonymous=1 socket=$RUN/pulse/run/native" \
    "load-module module-null-sink sink_name=voxtray_test rate=48000 channels=1" "set-default-sink voxtray_test" \
    >"$RUN/pulse/default.pa"
  HOME="$RUN/pulse" XDG_RUNTIME_DIR="$RUN/pulse/run" PULSE_RUNTIME_PATH="$RUN/pulse/run" \
    pulseaudio -n -F "$RUN/pulse/default.pa" --daemonize=no --exit-idle-time=-1 --log-target=stderr \
    >"$RUN/pulse/log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 200); do [ -S "$RUN/pulse/run/native" ] && break; sleep 0.05; done
  [ -S "$RUN/pulse/run/native" ] || { cat "$RUN/pulse/log" >&2; echo "wine-lane: pulseaudio did not start" >&2; exit 1; }
  printf 'pcm.voxtray_pulse {\n  type pulse\n  server "unix:%s"\n}\n' "$RUN/pulse/run/native" >"$RUN/asound-base.conf"
fi
export ALSA_CONFIG_PATH="/usr/share/alsa/alsa.conf:$RUN/asound-base.conf:$RUN/asound.conf"
export VOXTRAY_WIN_ASOUND="Z:${RUN//\//\\}\\asound.conf"
export VOXTRAY_WIN_RUN="Z:${RUN//\//\\}"  # this run's scratch folder, reachable from both sides

echo "wine-lane: env ready in $((SECONDS - T0))s (DISPLAY=$DISPLAY, WINEPREFIX=$WINEPREFIX)"
export -f winpy  # for `bash -c '... winpy ...'` commands
rc=0
if [ "${1:-}" = winpy ]; then
  shift
  winpy "$@" || rc=$?
else
  "$@" || rc=$?
fi
echo "wine-lane: exit $rc after $((SECONDS - T0))s"
exit "$rc"
