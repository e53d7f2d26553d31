"""Run sdtmify as a user would, on a throw-away project, and fingerprint the files it must not touch."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


def run(args, cwd, env=None, timeout=120) -> Outcome:
    """The installed ``sdtmify`` console script (beside this interpreter) as a real process."""
    exe = Path(sys.executable).with_name("sdtmify")
    done = subprocess.run(
        [str(exe), *map(str, args)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def run_inprocess(args, cwd) -> Outcome:
    """``sdtmify.cli.main(args)`` in this process, from ``cwd``, with stdout/stderr captured."""
    from sdtmify.cli import main

    out, err = io.StringIO(), io.StringIO()
    before = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(before)
    return Outcome(int(code or 0), out.getvalue(), err.getvalue())


def tree_digest(root, exclude=()) -> dict[str, str]:
    """relative path -> sha256 of every file under ``root`` (symlinks by their target text), skipping the
    top-level names in ``exclude``."""
    root = Path(root)
    digest = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in exclude:
            continue
        if path.is_symlink():
            digest[str(relative)] = "link:" + os.readlink(path)
        elif path.is_file():
            digest[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest
