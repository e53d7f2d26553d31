"""Where a build spends its time and memory: ``with stage("xpt"):`` around each stage, recorded only when asked.

Off (the default) a marker costs one function call returning a shared do-nothing context. On, when the
environment variable ``SDTMIFY_STAGE_LOG`` names a file when sdtmify is imported (or after
``record_to(path)``), every stage appends two JSON lines to that file as it happens:

- ``{"event": "enter", "stage": NAME, "depth": D, "pid": P}`` when it starts, so a reader knows which stage
  was running when the process died (killed for lack of memory, say);
- ``{"event": "exit", "stage": NAME, "depth": D, "pid": P, "wall": s, "cpu": s, "self_wall": s, "self_cpu": s,
  "peak_rss": bytes, "peak_scope": "stage" | "process", "rss": bytes}`` when it ends, with ``"error": NAME``
  (the exception's class) when it ended by an exception.

``wall``/``cpu`` include the stages nested inside it (a source read inside mapping), ``self_*`` exclude them,
so the ``self`` figures of all stages add up to the time spent in marked code. ``cpu`` is user + system time
of the process and of the child processes it waited for. ``peak_rss`` is the most resident memory while the
stage ran: Linux's VmHWM, reset at the start of each stage by writing 5 to /proc/self/clear_refs (scope
``stage``); where that is not allowed, the process's peak so far (``ru_maxrss``, scope ``process``). A stage
that runs several times (one per domain) gives one record per run; readers sum them.

``pid`` is the process that ran the stage: a two-lane build (:mod:`sdtmify.lanes`) logs from its forked child
too, into the same file (each record one append of one line). Stages nest within one process only; a
reader keeps one stack per pid. The parent's stage that waits for the child (``wait for lane 2``) ends
before the child is reaped, so no parent stage's CPU includes the child's.

benchmarks/bench_scale.py runs builds with the log on and prints the table."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path

ENVIRONMENT = "SDTMIFY_STAGE_LOG"
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")

_log: Path | None = Path(os.environ[ENVIRONMENT]) if os.environ.get(ENVIRONMENT) else None
_stack: list[_Running] = []
_NOTHING = contextlib.nullcontext()


def record_to(path: str | os.PathLike | None) -> None:
    """Append stage records to ``path`` from now on; None stops recording."""
    global _log
    _log = Path(path) if path is not None else None


def recording() -> bool:
    return _log is not None


def stage(name: str) -> contextlib.AbstractContextManager:
    """A context that records the wall time, CPU time and peak memory of the code it holds (when recording)."""
    if _log is None:
        return _NOTHING
    return _measured(name)


class _Running:
    __slots__ = ("name", "wall", "cpu", "child_wall", "child_cpu", "peak")

    def __init__(self, name: str):
        self.name = name
        self.wall = time.perf_counter()
        self.cpu = _cpu()
        self.child_wall = 0.0
        self.child_cpu = 0.0
        self.peak = 0


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _status(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status in bytes, or None off Linux."""
    try:
        text = _STATUS.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return None


def _reset_peak() -> bool:
    """Start a new VmHWM measurement; False where the system does not allow it."""
    try:
        with open(_CLEAR_REFS, "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _peak() -> int:
    found = _status("VmHWM")
    return found if found is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _write(record: dict) -> None:
    if _log is None:
        return
    with open(_log, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


@contextlib.contextmanager
def _measured(name: str) -> Iterator[None]:
    if _stack:  # the enclosing stage keeps the peak it reached before this one resets the mark
        _stack[-1].peak = max(_stack[-1].peak, _peak())
    scope = "stage" if _reset_peak() else "process"
    running = _Running(name)
    _stack.append(running)
    _write({"event": "enter", "stage": name, "depth": len(_stack) - 1, "pid": os.getpid()})
    failed = None
    try:
        yield
    except BaseException as error:
        failed = type(error).__name__
        raise
    finally:
        _stack.pop()
        wall, cpu = time.perf_counter() - running.wall, _cpu() - running.cpu
        peak = max(running.peak, _peak())
        if _stack:
            parent = _stack[-1]
            parent.child_wall += wall
            parent.child_cpu += cpu
            parent.peak = max(parent.peak, peak)
        _write(
            {
                "event": "exit",
                "stage": name,
                "depth": len(_stack),
                "pid": os.getpid(),
                "wall": round(wall, 4),
                "cpu": round(cpu, 4),
                "self_wall": round(wall - running.child_wall, 4),
                "self_cpu": round(cpu - running.child_cpu, 4),
                "peak_rss": peak,
                "peak_scope": scope,
                "rss": _status("VmRSS") or 0,
                **({"error": failed} if failed else {}),
            }
        )


__all__ = ["ENVIRONMENT", "record_to", "recording", "stage"]
