#!/usr/bin/env bash
# Set up VoxTray on Debian/Ubuntu: system packages (as root or with sudo), a venv in .venv, pinned packages.
#   bash scripts/setup.sh        # what the daemon needs
#   bash scripts/setup.sh dev    # + what the tests need (Xvfb, trayer, dunst, PulseAudio, lint tools)
# Idempotent: packages are only reinstalled when a requirements/constraints file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-run}"
PY="${PYTHON:-python3}"

RUN_APT=(espeak-ng libespeak-ng1 libportaudio2 libasound2-plugins libgirepository1.0-dev gir1.2-gtk-3.0
         libcairo2-dev pkg-config gobject-introspection libffi-dev)
DEV_APT=(xvfb xdotool trayer dunst dbus dbus-x11 desktop-file-utils imagemagick x11-apps x11-utils
         pulseaudio pulseaudio-utils alsa-utils)

apt_install() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if ! command -v apt-get >/dev/null; then
    echo "setup: please install these system packages with your package manager: ${missing[*]}" >&2
    return 0
  fi
  echo "setup: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

apt_install "${RUN_APT[@]}"
[ "$MODE" = dev ] && apt_install "${DEV_APT[@]}"

REQS=(-r requirements.txt)
[ "$MODE" = dev ] && REQS=(-r requirements-dev.txt)
STAMP=".venv/.voxtray-$MODE"
WANT="$(cat requirements.txt requirements-dev.txt constraints-ci.txt | sha256sum | cut -c1-16)"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "setup: installing Python packages into .venv (first time: several minutes, ~6 GB with torch)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q "${REQS[@]}" -c constraints-ci.txt
  echo "$WANT" > "$STAMP"
fi
echo "setup: ready ($MODE)"
