#!/usr/bin/env bash
# One entry point for a fresh Debian machine with Python 3.11:
#   bash dev.sh build [STUDY]   set up .venv, run `sdtmify build --study STUDY` (default NCI84)
#   bash dev.sh test  [ARGS]    set up .venv (+ R/haven and Chromium via apt when root), run pytest ARGS
#   bash dev.sh lint            the gates: ruff check, ruff format --check, mypy (src/), lint-imports
# .venv gets requirements/lock.txt (runtime, test and dev packages, exact pins), then sdtmify in editable
# mode with --no-deps. It is reinstalled only when pyproject.toml, the lock or the Python version changed
# (their hash is kept in .venv/.dev-stamp); pip's output goes to .venv/dev-install.log, shown on failure.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.dev-stamp
INSTALL_LOG=$VENV/dev-install.log

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

stamp() {
  { cat pyproject.toml requirements/lock.txt; "$VENV/bin/python" -c 'import sys; print(sys.version)'; } |
    sha256sum | cut -d' ' -f1
}

setup_venv() {
  if ! "$PY" -m venv --help >/dev/null 2>&1 || ! "$PY" -c 'import ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating .venv ($("$PY" --version))"
    "$PY" -m venv "$VENV"
  fi
  local inputs
  inputs=$("$VENV/bin/python" requirements/inputs_hash.py)
  if ! grep -qx "# inputs: $inputs" requirements/lock.txt; then
    log "requirements/lock.txt is stale: pyproject.toml's dependencies or requirements/build.in changed since"
    log "it was compiled; run: bash requirements/compile.sh   (then commit requirements/lock.txt)"
    exit 1
  fi
  local want
  want=$(stamp)
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    log ".venv up to date"
    return 0
  fi
  log "installing locked packages (pyproject or lock changed)"
  rm -f "$STAMP"
  local pip=("$VENV/bin/python" -m pip install --no-input --disable-pip-version-check)
  if ! {
    "${pip[@]}" "$(grep '^pip==' requirements/lock.txt)" &&
      "${pip[@]}" -r requirements/lock.txt &&
      "${pip[@]}" --no-deps --no-build-isolation -e .
  } >"$INSTALL_LOG" 2>&1; then
    cat "$INSTALL_LOG" >&2
    log "install failed (output above, kept in $INSTALL_LOG)"
    exit 1
  fi
  echo "$want" >"$STAMP"
}

cmd=${1:-build}
shift || true
case "$cmd" in
  build)
    setup_venv
    exec "$VENV/bin/sdtmify" build --study "${1:-NCI84}" "${@:2}"
    ;;
  test)
    apt_install r-base-core r-cran-haven r-cran-jsonlite chromium chromium-driver fonts-dejavu-core
    setup_venv
    # Bytecode for src/ and the tests' helpers, written once here (0.6 CPU-s) rather than compiled again by each
    # xdist worker and each sdtmify process the tests start: a fresh clone has none, and with
    # PYTHONDONTWRITEBYTECODE set Python never writes it (it still reads it). pytest's rewritten test modules
    # are not covered: it only caches those when it may write bytecode.
    "$VENV/bin/python" -m compileall -q src tests >/dev/null
    set +e
    "$VENV/bin/python" -m pytest "$@"
    rc=$?
    set -e
    # pytest exits 5 when no test ran: that is a failure here, never a pass.
    [ $rc -eq 5 ] && { log "no tests ran"; exit 1; }
    exit $rc
    ;;
  lint)
    setup_venv
    failed=()
    gate() {
      log "$*"
      "$VENV/bin/$1" "${@:2}" || failed+=("$*")
    }
    gate ruff check .
    gate ruff format --check .
    gate mypy # files and options: [tool.mypy] in pyproject.toml
    gate lint-imports # the layer contract: [tool.importlinter] in pyproject.toml
    [ ${#failed[@]} -eq 0 ] || { log "gates failed: ${failed[*]}"; exit 1; }
    log "gates passed"
    ;;
  *)
    echo "usage: bash dev.sh build [STUDY] | bash dev.sh test [PYTEST ARGS] | bash dev.sh lint" >&2
    exit 2
    ;;
esac
