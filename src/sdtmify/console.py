"""How commands talk: results to stdout, diagnostics and progress to stderr, --quiet/--verbose.

On a terminal, progress is a bar per build stage and severities are coloured (with ``rich``, imported
only then, so ``sdtmify --help`` stays fast). Piped output, ``NO_COLOR`` (any value, see no-color.org)
and ``TERM=dumb`` give plain lines without escape codes. Messages are never cut: on a terminal rich
wraps them to its width, in a pipe each stays on one line for grep.

Verbosity: 0 (``-q``) results, warnings and errors only; 1 progress and summaries; 2 (``-v``) also
per-stage details and timings."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "notice": "cyan"}


def styled(stream: Any) -> bool:
    """Colour and live progress on ``stream``: a terminal, and neither NO_COLOR nor TERM=dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def plain_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Aligned columns, the last one left as long as it is (never cut)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]

    def line(row: Sequence[str]) -> str:
        cells = [f"{str(v):>{widths[i]}}" if i in right else f"{str(v):<{widths[i]}}" for i, v in enumerate(row[:-1])]
        return "  ".join([*cells, str(row[-1])]).rstrip()

    return [line(header), *(line(r) for r in rows)]


class Console:
    def __init__(self, verbosity: int = 1, stream: Any = None, out: Any = None):
        self.verbosity = verbosity  # 0 quiet, 1 normal, 2 verbose
        self.err = stream or sys.stderr
        self.out = out or sys.stdout
        self._started = time.monotonic()
        self._rich_err: Any = None
        self._rich_out: Any = None
        self._progress: Any = None
        self._task: Any = None
        self._stage: tuple[int, int, str, float] | None = None
        self._paused = False  # pause() stopped the progress bar; resume() shows it again

    # -- rich, only on a terminal -----------------------------------------------------------------
    def _err_console(self) -> Any:
        if self._rich_err is None and styled(self.err):
            from rich.console import Console as RichConsole

            self._rich_err = RichConsole(file=self.err, highlight=False, soft_wrap=False)
        return self._rich_err

    def _out_console(self) -> Any:
        if self._rich_out is None and styled(self.out):
            from rich.console import Console as RichConsole

            self._rich_out = RichConsole(file=self.out, highlight=False)
        return self._rich_out

    def _say(self, text: str, style: str | None = None) -> None:
        """One diagnostic line on stderr (above the progress bar while it runs)."""
        rich = self._err_console()
        if rich is None:
            print(text, file=self.err, flush=True)
        else:
            rich.print(text, style=style, markup=False)

    # -- what commands call -----------------------------------------------------------------------
    def result(self, text: str, style: str | None = None) -> None:
        """What the command produced (stdout), shown even with --quiet."""
        rich = self._out_console()
        if rich is None:
            print(text, file=self.out, flush=True)
        else:
            rich.print(text, style=style, markup=False)

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        right: Sequence[int] = (),
        styles: Sequence[str | None] = (),
    ) -> None:
        """A result table on stdout; ``styles`` gives each row's style (e.g. by severity)."""
        rows = [[("" if v is None else str(v)) for v in row] for row in rows]
        rich = self._out_console()
        if rich is None:
            for line in plain_table(header, rows, right):
                print(line, file=self.out)
            self.out.flush()
            return
        from rich import box
        from rich.table import Table

        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for i, name in enumerate(header):
            last = i == len(header) - 1
            table.add_column(
                name,
                justify="right" if i in right else "left",
                overflow="fold",
                no_wrap=not last,
                ratio=1 if last else None,
            )
        for i, row in enumerate(rows):
            table.add_row(*row, style=styles[i] if i < len(styles) else None)
        rich.print(table)

    def info(self, text: str) -> None:
        if self.verbosity >= 1:
            self._say(text)

    def debug(self, text: str) -> None:
        if self.verbosity >= 2:
            self._say(text, style="dim")

    def warn(self, text: str) -> None:
        self._say(f"warning: {text}", style="yellow")

    def error(self, text: str) -> None:
        self.close()
        self._say(f"error: {text}", style="bold red")

    def step(self, index: int, total: int, label: str) -> None:
        """Stage ``index`` of ``total`` begins: a progress bar on a terminal, one line otherwise;
        with -v each stage ends with its time."""
        self.finish()
        self._stage = (index, total, label, time.monotonic())
        if self.verbosity < 1:
            return
        rich = self._err_console()
        if rich is None:
            elapsed = time.monotonic() - self._started
            print(
                f"[{index}/{total}] {label}" + (f" (at {elapsed:0.1f}s)" if self.verbosity >= 2 else ""),
                file=self.err,
                flush=True,
            )
            return
        self._show(index, total, label)

    def _show(self, index: int, total: int, label: str) -> None:
        """The progress bar at stage ``index`` (started when not running)."""
        rich = self._err_console()
        if rich is None:
            return
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=rich,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(label, total=total)
        self._progress.update(self._task, description=label, completed=index - 1)

    def pause(self) -> bool:
        """Stop the live progress bar, and the thread that redraws it, keeping the current stage (a build forks
        its second lane with no other thread running); True when a bar was running. :meth:`resume` shows it."""
        if self._progress is None:
            return False
        self._progress.stop()
        self._progress = None
        self._paused = True
        return True

    def resume(self) -> None:
        """Show the progress bar again at the current stage, after :meth:`pause`."""
        if self._paused and self._stage is not None:
            index, total, label, _ = self._stage
            self._show(index, total, label)
        self._paused = False

    def finish(self) -> None:
        """The current stage is done: its time (-v, or always as a line on a terminal)."""
        if self._stage is None:
            return
        index, total, label, began = self._stage
        self._stage = None
        seconds = time.monotonic() - began
        if self.verbosity < 1:
            return
        if self._progress is not None:
            self._progress.update(self._task, completed=index)
            from rich.text import Text

            line = Text.assemble(("✓ ", "green"), f"[{index}/{total}] {label}  ", (f"{seconds:0.1f}s", "dim"))
            self._progress.console.print(line, highlight=False)
        elif self.verbosity >= 2:
            print(f"      {label}: {seconds:0.2f}s", file=self.err, flush=True)

    def close(self) -> None:
        """Stop the progress bar (at the end of a command, or before an error is shown)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._stage = None


QUIET = Console(verbosity=0)
