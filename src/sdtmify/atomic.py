"""Never leave a partial or corrupt output: write beside the target, then rename into place.

``checkpoint(name)`` marks the moments a crash test may kill the process at: with
``SDTMIFY_TEST_KILL_AT=<name>`` in the environment the process SIGKILLs itself there (``write-N`` is the
N-th file this process writes, just before it is renamed into place; ``dir-filled`` and ``dir-exchanged`` are
``atomic_dir``'s folder filled, then swapped in); ``SDTMIFY_TEST_SLEEP_AT=<name>:<s>`` pauses there. Nothing else reads these variables."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

_writes = [os.getpid(), 0]  # [process id, files written by that process]


def checkpoint(name: str) -> None:
    """Die here, as a power cut or `kill -9` would, when a crash test asks for it (see module docstring);
    or pause here (``SDTMIFY_TEST_SLEEP_AT=<name>:<seconds>``) so a test can act while the process waits."""
    wanted = os.environ.get("SDTMIFY_TEST_KILL_AT")
    if wanted and wanted == name:
        os.kill(os.getpid(), signal.SIGKILL)
    pause = os.environ.get("SDTMIFY_TEST_SLEEP_AT")
    if pause and pause.rpartition(":")[0] == name:
        time.sleep(float(pause.rpartition(":")[2]))


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_AT_FDCWD = -100


def _renameat2(source: Path, target: Path, flags: int) -> bool:
    """Linux renameat2(2); False when the system or the filesystem does not offer it."""
    if os.environ.get("SDTMIFY_TEST_NO_EXCHANGE"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = call(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags)
    if result == 0:
        return True
    error = ctypes.get_errno()
    if error in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: not on this filesystem; use two renames
        return False
    raise OSError(error, os.strerror(error), str(source), None, str(target))


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step (True), or say it cannot be done here (False)."""
    return _renameat2(first, second, _RENAME_EXCHANGE)


def rename_new(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``, which must not exist (never replaces an empty folder silently)."""
    if _renameat2(source, target, _RENAME_NOREPLACE):
        return
    if os.path.lexists(target):
        raise FileExistsError(17, "File exists", str(target))
    os.rename(source, target)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it over ``target``.

    On any exception the temporary file is removed and ``target`` is left as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes 0600 files; outputs are for sharing, so give them the usual umask mode.
    os.chmod(tmp_path, 0o666 & ~_umask())
    try:
        yield tmp_path
        if _writes[0] != os.getpid():  # a forked child counts its own writes
            _writes[:] = [os.getpid(), 0]
        _writes[1] += 1
        checkpoint(f"write-{_writes[1]}")
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; on success it replaces ``target`` whole.

    The swap is one atomic exchange where the system offers it; the replaced folder is then removed."""
    import shutil

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    checkpoint("dir-filled")
    if target.is_dir() and not target.is_symlink() and exchange(tmp, target):
        checkpoint("dir-exchanged")
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = None
    if os.path.lexists(target):
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", suffix=".tmp", dir=target.parent))
        os.rmdir(old)
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_text(target: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding, newline="\n")


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
