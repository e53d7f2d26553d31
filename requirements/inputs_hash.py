"""Prints the hash of what requirements/lock.txt is compiled from: pyproject.toml's dependencies, extras
and build requirements, and requirements/build.in. compile.sh writes it into the lock's header; dev.sh
compares, so a dependency added to pyproject.toml without regenerating the lock stops with a message
instead of installing a lock that lacks it. Standard library only (runs before any venv exists)."""

import hashlib
import json
import sys
import tomllib
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
build_in = [
    line.split("#")[0].strip()
    for line in (root / "requirements" / "build.in").read_text(encoding="utf-8").splitlines()
    if line.split("#")[0].strip()
]
inputs = {
    "dependencies": pyproject["project"].get("dependencies", []),
    "optional-dependencies": pyproject["project"].get("optional-dependencies", {}),
    "build-system": pyproject.get("build-system", {}).get("requires", []),
    "build.in": build_in,
}
print(hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest())
