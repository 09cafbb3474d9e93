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

# shellcheck source=scripts/apt.sh
source scripts/apt.sh

apt_install setup 0 "${RUN_APT[@]}"
[ "$MODE" = dev ] && apt_install setup 0 "${DEV_APT[@]}"

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
