"""How commands talk: results to stdout, messages and progress to stderr, --quiet/--verbose."""

from __future__ import annotations

import sys
import time


class Console:
    def __init__(self, verbosity: int = 1, stream=None, out=None):
        self.verbosity = verbosity  # 0 quiet, 1 normal, 2 verbose
        self.err = stream or sys.stderr
        self.out = out or sys.stdout
        self._started = time.monotonic()

    def result(self, text: str) -> None:
        """What the command produced (stdout), shown even with --quiet."""
        print(text, file=self.out)

    def info(self, text: str) -> None:
        if self.verbosity >= 1:
            print(text, file=self.err)

    def debug(self, text: str) -> None:
        if self.verbosity >= 2:
            print(text, file=self.err)

    def warn(self, text: str) -> None:
        print(f"warning: {text}", file=self.err)

    def error(self, text: str) -> None:
        print(f"error: {text}", file=self.err)

    def step(self, index: int, total: int, label: str) -> None:
        """One line of progress per build step, with elapsed seconds."""
        if self.verbosity >= 1:
            elapsed = time.monotonic() - self._started
            print(f"[{index}/{total}] {label} ({elapsed:0.1f}s)", file=self.err, flush=True)


QUIET = Console(verbosity=0)
