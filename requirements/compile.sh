#!/usr/bin/env bash
# Regenerates requirements/lock.txt: every runtime dependency of pyproject.toml plus its `test` and `dev`
# extras and the build backend (requirements/build.in), resolved for Python 3.11, pinned with ==.
#   bash requirements/compile.sh             keep the current pins, add or move only what the ranges require
#   bash requirements/compile.sh --upgrade   move every pin to the newest release the ranges allow
# uv is installed into a throwaway venv in a temporary folder, never into the project's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q uv >"$tmp/pip.log" 2>&1 || { cat "$tmp/pip.log" >&2; exit 1; }
[ -f requirements/lock.txt ] && grep -v '^#' requirements/lock.txt >"$tmp/lock.txt" || : >"$tmp/lock.txt"
"$tmp/venv/bin/uv" pip compile pyproject.toml requirements/build.in \
  --extra test --extra dev --python-version 3.11 --no-header --quiet \
  --output-file "$tmp/lock.txt" "$@"
{
  echo "# The locked set dev.sh and .ci/run install (pip install -r requirements/lock.txt, then the package"
  echo "# itself with --no-deps): pyproject.toml's dependencies with the test and dev extras and the build"
  echo "# backend, for Python 3.11. Generated; do not edit. Regenerate: bash requirements/compile.sh [--upgrade]"
  echo "# inputs: $("$PY" requirements/inputs_hash.py)"
  cat "$tmp/lock.txt"
} >requirements/lock.txt
echo "requirements/lock.txt: $(grep -c '==' requirements/lock.txt) pins"
