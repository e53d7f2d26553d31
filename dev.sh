#!/usr/bin/env bash
# One entry point for a fresh Debian machine with Python 3.11:
#   bash dev.sh build [STUDY]   set up .venv, install sdtmify, run `sdtmify build --study STUDY` (default NCI84)
#   bash dev.sh test  [ARGS]    set up .venv with test extras (+ R/haven and Chromium when run as root), run pytest
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=.venv

log() { printf '[dev.sh] %s\n' "$*" >&2; }

apt_install() {
  # Installs Debian packages when we are root and they are missing; otherwise says what is missing.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "apt-get install ${missing[*]}"
    if [ -z "${DEV_SH_APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null; export DEV_SH_APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "not root: cannot install ${missing[*]}; tests that need them will be skipped"
  fi
}

setup_venv() {
  local extras=$1
  if ! "$PY" -m venv --help >/dev/null 2>&1 || ! "$PY" -c 'import ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
  fi
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -e ".${extras}"
}

cmd=${1:-build}; shift || true
case "$cmd" in
  build)
    setup_venv ""
    exec "$VENV/bin/sdtmify" build --study "${1:-NCI84}" "${@:2}"
    ;;
  test)
    apt_install r-base-core r-cran-haven chromium chromium-driver fonts-dejavu-core
    setup_venv "[test]"
    set +e
    "$VENV/bin/python" -m pytest "$@"
    rc=$?
    set -e
    # pytest exits 5 when no test ran: that is a failure here, never a pass.
    [ $rc -eq 5 ] && { log "no tests ran"; exit 1; }
    exit $rc
    ;;
  *)
    echo "usage: bash dev.sh build [STUDY] | bash dev.sh test [PYTEST ARGS]" >&2; exit 2 ;;
esac
