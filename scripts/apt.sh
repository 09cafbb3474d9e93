# shellcheck shell=bash
# apt_install WHO REQUIRED PACKAGE...: install the Debian packages that are missing (root or sudo), saying so as WHO.
# Without apt-get it names the packages to install; REQUIRED=1 then fails (exit 1), REQUIRED=0 goes on.
apt_install() {
  local who=$1 required=$2
  shift 2
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if ! command -v apt-get >/dev/null; then
    echo "$who: please install these system packages with your package manager: ${missing[*]}" >&2
    return "$required"
  fi
  echo "$who: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
