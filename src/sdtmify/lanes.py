"""A second lane for the build: functions run in forked child processes while the parent does other work.

``sdtmify build`` on two cores hands work to children as soon as the data it needs is final (``build.py``):
one writes the SDTM files while the parent derives ADaM, the next the ADaM files, the last (unless the
parent, waiting for the SDTM files, has done it) the report, while the parent writes define.xml and
validates. Each child is a ``fork`` of the parent, so it shares the built
frames copy-on-write instead of receiving them; it sends back one pickled value. A child forked ``after``
another starts its work only once that one has finished its own (:func:`forked`): the children run one at a
time, as one second lane beside the parent, so two cores run two processes and the parent's work, which
the others wait for, is never slowed by a third.

- What the child says on the console is recorded (:class:`Recorder`) and replayed by the parent after the
  join, in the order a serial build says it; so is what the parent's own lane says (``build.py``).
- An exception in the child (an ``InputError`` naming file:line field, a ``WriteError``, an ``OSError``...)
  is pickled and raised again in the parent, so it reaches the user exactly as in a serial build, with the
  same exit code; the child's traceback is attached as a note (shown by ``--debug``).
- A child ended by a signal raises :class:`LaneError` (exit code 2) with one line: "... ended by signal 9
  (out of memory?)".
- The child never returns into the parent's code: whatever happens it ends with ``os._exit``, so it never
  runs the parent's cleanup (the staging folder, the lock, atexit handlers).
- When the parent stops early (an error in its lane, Ctrl-C, SIGTERM), leaving the ``with`` block kills
  the child and reaps it: no orphan keeps writing into a staging folder being removed. A parent killed
  outright (SIGKILL) takes the child with it (the kernel's parent-death signal).

Lanes need ``os.fork`` (Linux) and a single thread at fork time (a forked child of a threaded process can
deadlock on a lock another thread held); :func:`ready` says whether both hold, else the build is serial.
Before the fork the collector is frozen (``gc.freeze``) so that neither process's cyclic garbage collection
walks, and so copies, the pages of the objects they share."""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import select
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from . import stagemeter
from .console import Console
from .errors import SdtmifyError

ENVIRONMENT = "SDTMIFY_JOBS"


class LaneError(SdtmifyError):
    """The build's second lane ended without a result (killed by a signal, or exited without one)."""


def jobs_wanted(jobs: int | None) -> int:
    """How many lanes a build uses: ``jobs`` (``--jobs``), else $SDTMIFY_JOBS, else 2 on a machine with two
    or more cores, 1 otherwise. Refuses a value that is not a whole number >= 1."""
    if jobs is None:
        text = os.environ.get(ENVIRONMENT, "").strip()
        if not text:
            return 2 if (os.cpu_count() or 1) >= 2 else 1
        try:
            jobs = int(text)
        except ValueError:
            raise LaneError(f"{ENVIRONMENT}={text!r}: not a whole number; give 1 (serial) or 2 (two lanes)") from None
    if jobs < 1:
        raise LaneError(f"jobs={jobs}: give 1 (serial) or 2 (two lanes)")
    return jobs


def available() -> bool:
    """Whether a lane can be forked here: ``os.fork`` exists (Linux)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def ready(ui: Console) -> bool:
    """Whether a lane can be forked now: :func:`available`, and this process runs one thread once the
    console's live progress bar (redrawn by a thread of its own, on a terminal) is paused and its thread has
    ended; :func:`forked` shows the bar again. A process running other threads (a pooled build's dask worker)
    stays serial, its bar shown again."""
    if not available():
        return False
    if threading.active_count() > 1 and ui.pause():
        # the bar's thread is told to stop, not waited for: give it a moment to end
        deadline = time.monotonic() + 1.0
        while threading.active_count() > 1 and time.monotonic() < deadline:
            time.sleep(0.005)
    if threading.active_count() == 1:
        return True
    ui.resume()  # staying in one process: the bar goes on
    return False


class Recorder(Console):
    """A console that records what it is told, to be replayed on the real one later (:meth:`replay`)."""

    def __init__(self, like: Console):
        super().__init__(verbosity=like.verbosity)
        self.calls: list[tuple[str, tuple, dict]] = []

    def _record(self, name: str, args: tuple, kwargs: dict) -> None:
        self.calls.append((name, args, kwargs))

    def result(self, *args: Any, **kwargs: Any) -> None:
        self._record("result", args, kwargs)

    def table(self, *args: Any, **kwargs: Any) -> None:
        self._record("table", args, kwargs)

    def info(self, *args: Any, **kwargs: Any) -> None:
        self._record("info", args, kwargs)

    def debug(self, *args: Any, **kwargs: Any) -> None:
        self._record("debug", args, kwargs)

    def warn(self, *args: Any, **kwargs: Any) -> None:
        self._record("warn", args, kwargs)

    def error(self, *args: Any, **kwargs: Any) -> None:
        self._record("error", args, kwargs)

    def step(self, *args: Any, **kwargs: Any) -> None:
        self._record("step", args, kwargs)

    def finish(self, *args: Any, **kwargs: Any) -> None:
        self._record("finish", args, kwargs)

    def close(self, *args: Any, **kwargs: Any) -> None:
        self._record("close", args, kwargs)


def replay(calls: Sequence[tuple[str, tuple, dict]], ui: Console) -> None:
    """Say on ``ui`` what a :class:`Recorder` recorded, in its order."""
    for name, args, kwargs in calls:
        getattr(ui, name)(*args, **kwargs)


class Lane:
    """A forked child running one function; :meth:`join` gives its value and what it said."""

    def __init__(self, pid: int, reader: int, what: str, done: int = -1):
        self.pid = pid
        self.what = what
        self._reader = reader
        self._done = done  # reaches its end of file once the child's work is over: the next child's start
        self._reaped = False

    def join(self, ui: Console) -> Any:
        """Wait for the child, say on ``ui`` what it said, and give its value; its exception is raised again
        here (after what it said before it)."""
        with os.fdopen(self._reader, "rb") as pipe, stagemeter.stage("wait for lane 2"):
            self._reader = -1
            data = pipe.read()  # until the child ends; it is reaped after this stage, whose CPU stays its own
        _, status = os.waitpid(self.pid, 0)
        self._reaped = True
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            name = signal.Signals(number).name if number in signal.valid_signals() else f"signal {number}"
            guess = "out of memory?" if number == signal.SIGKILL else name
            raise LaneError(
                f"the build's second lane (process {self.pid}, {self.what}) ended by signal {number} ({guess}); "
                "the previous output was left as it was"
            )
        if not data:
            raise LaneError(
                f"the build's second lane (process {self.pid}, {self.what}) ended with exit code "
                f"{os.waitstatus_to_exitcode(status)} and no result; the previous output was left as it was"
            )
        outcome = pickle.loads(data)
        if outcome[0] != "unpicklable":
            replay(outcome[2], ui)
        if outcome[0] == "value":
            return outcome[1]
        if outcome[0] == "error":
            error: BaseException = outcome[1]
            error.add_note(f"raised in the build's second lane (process {self.pid}, {self.what}):\n{outcome[3]}")
            raise error
        raise LaneError(f"the build's second lane (process {self.pid}, {self.what}): {outcome[1]}")

    def working(self) -> bool:
        """Whether the child's work is still running (not yet over, whatever its outcome): the writing end
        of its ``done`` pipe, which only the child holds, is still open. Does not wait."""
        if self._done < 0:
            return False
        over, _, _ = select.select([self._done], [], [], 0)  # readable: at its end of file
        return not over

    def stop(self) -> None:
        """Kill the child if it still runs, and reap it (the parent is leaving early)."""
        for fd in (self._reader, self._done):
            if fd >= 0:
                os.close(fd)
        self._reader = self._done = -1
        if self._reaped:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        while True:
            try:
                os.waitpid(self.pid, 0)
                break
            except InterruptedError:  # pragma: no cover - waitpid retries itself since Python 3.5
                continue
            except ChildProcessError:
                break
        self._reaped = True


_frozen = 0  # how many forked() blocks are open: the collector is unfrozen when the last one closes


@contextlib.contextmanager
def forked(work: Callable[[Console], Any], ui: Console, what: str, after: Lane | None = None) -> Iterator[Lane]:
    """Run ``work(recorder)`` in a forked child while the ``with`` block runs here; ``lane.join(ui)`` inside
    the block gives its value. ``what`` names the lane's work in messages. ``after``: a lane (still running,
    not yet joined) whose work must be over before this one's starts. Leaving the block without joining
    (an exception) kills and reaps the child."""
    global _frozen
    for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice
        with contextlib.suppress(Exception):
            stream.flush()
    wait_for = after._done if after is not None else -1
    reader, writer = os.pipe()
    done, finished = os.pipe()
    gc.freeze()  # the shared objects move out of the collector's reach: collections do not copy their pages
    _frozen += 1
    parent = os.getpid()
    try:
        pid = os.fork()
    except BaseException:
        for fd in (reader, writer, done, finished):
            os.close(fd)
        _thaw()
        ui.resume()
        raise
    if pid == 0:  # the child: never leaves this branch but by os._exit
        code = 70
        try:
            os.close(reader)
            os.close(done)
            _die_with(parent)
            _wait_for(wait_for)
            code = _child(work, ui, writer, finished)
        finally:
            os._exit(code)
    os.close(writer)
    os.close(finished)  # the child holds the only writing end: its end of file says its work is over
    ui.resume()
    lane = Lane(pid, reader, what, done)
    try:
        yield lane
    finally:
        lane.stop()
        _thaw()


def _thaw() -> None:
    global _frozen
    _frozen -= 1
    if not _frozen:
        gc.unfreeze()


def _wait_for(done: int) -> None:
    """Block until the writing end of the pipe ``done`` is closed everywhere: the lane before this one has
    finished its work (or ended). -1: start now."""
    if done < 0:
        return
    while os.read(done, 1):
        pass
    os.close(done)


def _die_with(parent: int) -> None:
    """Have the kernel kill this child when its parent dies (prctl PR_SET_PDEATHSIG), so that a parent killed
    outright (SIGKILL: no cleanup of its own) leaves no child writing into a staging folder the next build
    removes; if the parent is already gone, end now."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(70)


def _child(work: Callable[[Console], Any], ui: Console, writer: int, finished: int) -> int:
    recorder = Recorder(ui)
    outcome: tuple
    try:
        outcome = ("value", work(recorder), recorder.calls)
    except BaseException as error:  # every error goes back to the parent, which raises it as its own
        outcome = ("error", error, recorder.calls, "".join(traceback.format_exception(error)))
    os.close(finished)  # the next lane may start: this one's work is over, only its answer is left to send
    try:
        data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.loads(data)  # an exception that pickles but cannot be rebuilt must not fail in the parent
    except Exception as failure:
        cause = outcome[1] if outcome[0] == "error" else failure
        text = " ".join(str(cause).split())
        data = pickle.dumps(("unpicklable", f"{type(cause).__name__}: {text}"))
    with os.fdopen(writer, "wb") as pipe:
        pipe.write(data)
    return 0


__all__ = ["ENVIRONMENT", "Lane", "LaneError", "Recorder", "available", "forked", "jobs_wanted", "replay"]
