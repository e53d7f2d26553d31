"""Guarded output folders: a manifest of what sdtmify wrote, a lock per folder, and a crash-safe swap.

- Every output folder sdtmify creates holds ``.sdtmify-output.json``: the files it wrote, each with its
  sha256. A folder is replaced only when it carries that manifest and every file in it is one sdtmify
  wrote, unchanged. Anything else (a folder without the manifest, or with files the user added or edited)
  is refused, or with ``--force`` moved aside whole to ``NAME.kept-<time>``: nothing is ever deleted that
  sdtmify did not write.
- ``.NAME.lock`` beside the folder is held (flock) for the whole build; a second build of the same folder
  waits up to ``--wait`` seconds, then refuses. Builds of other folders run in parallel.
- The new output is built in ``.NAME.<hex>.tmp`` beside the old and swapped in with one atomic exchange
  (renameat2), so that a process killed at any instant leaves the complete old or the complete new output
  at NAME. Where the exchange is not available the old folder is first renamed to ``.NAME.old-<hex>.tmp``;
  a run killed between the two renames is rolled back by the next run. The next run also removes the
  staging debris of killed runs (only folders carrying sdtmify's marker), and, inside an output folder,
  what a killed ``sdtmify report`` staged there (only names of sdtmify's own ``.NAME.<8>.tmp`` pattern).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from . import __version__
from .atomic import atomic_path, checkpoint, exchange, rename_new, write_text
from .console import QUIET, Console
from .errors import SdtmifyError

MARKER = ".sdtmify-output.json"
_MARKER_TMP = re.compile(rf"^\.{re.escape(MARKER)}\.[A-Za-z0-9_]+\.tmp$")  # atomic_path's temporary name


class OutputError(SdtmifyError):
    """An output folder sdtmify may not write (not its own, locked by another build, a file)."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


Known = dict[tuple[int, int], tuple[int, int, str]]
"""Digests taken earlier: (device, inode) -> (size, modification time in ns, sha256)."""


def digests(paths: list[Path], taken: Known | None = None) -> Known:
    """The sha256 of each of ``paths`` with the file's identity and state, for :func:`tree` to reuse while
    the file is unchanged (a build's second lane hashes what it wrote while the first does other work).
    ``taken``: digests already taken of some of them (:func:`recording`), reused while the file is unchanged
    instead of reading it again."""
    known: Known = {}
    for path in paths:
        state = os.stat(path, follow_symlinks=False)
        found = (taken or {}).get((state.st_dev, state.st_ino))
        if found is not None and found[:2] == (state.st_size, state.st_mtime_ns):
            known[(state.st_dev, state.st_ino)] = found
            continue
        digest = sha256(path)
        if os.stat(path, follow_symlinks=False).st_mtime_ns == state.st_mtime_ns:
            known[(state.st_dev, state.st_ino)] = (state.st_size, state.st_mtime_ns, digest)
    return known


_recorders: list[Known] = []  # the innermost recording() block's digests last


@contextlib.contextmanager
def recording(known: Known) -> Iterator[Known]:
    """Inside the block, every file written through :func:`hashed_file` has the sha256 of its bytes taken
    as they are written and put into ``known`` (with the file's identity and state, as :func:`digests` puts
    them) once the file is in place: the manifest then need not read the file again."""
    _recorders.append(known)
    try:
        yield known
    finally:
        _recorders.pop()


class _Hashing:
    """A binary file handle that hashes what it is given, after writing it: what it hashed is what it wrote."""

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        written = self.handle.write(data)
        self.digest.update(data)
        self.size += memoryview(data).nbytes
        return written


@contextlib.contextmanager
def hashed_file(target: str | os.PathLike) -> Iterator[BinaryIO | _Hashing]:
    """A binary handle (``write`` only) writing ``target`` atomically (:func:`sdtmify.atomic.atomic_path`).
    Inside a :func:`recording` block the sha256 of the bytes written is recorded once the file is in place,
    if the file is then exactly as long as what was written (else it is left to be read and hashed)."""
    sink = _recorders[-1] if _recorders else None
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        if sink is None:
            yield handle
            return
        hashing = _Hashing(handle)
        yield hashing
    state = os.stat(target, follow_symlinks=False)
    if state.st_size == hashing.size:
        sink[(state.st_dev, state.st_ino)] = (state.st_size, state.st_mtime_ns, hashing.digest.hexdigest())


def _digest(path: Path, known: Known | None) -> str:
    if known:
        state = os.stat(path, follow_symlinks=False)
        found = known.get((state.st_dev, state.st_ino))
        if found is not None and found[:2] == (state.st_size, state.st_mtime_ns):
            return found[2]
    return sha256(path)


def tree(folder: Path, known: Known | None = None) -> dict[str, str]:
    """Every file below ``folder`` (relative POSIX path -> sha256), the marker excluded; links count as
    files whose digest is ``link:<target>`` so they are never followed. ``known``: digests already taken
    (:func:`digests`), used for the files whose size and modification time are those hashed."""
    found = {}
    for directory, folders, files in os.walk(folder):
        base = Path(directory)
        if base != folder and not files and not folders:  # an empty folder is content too
            found[base.relative_to(folder).as_posix() + "/"] = "dir"
        for name in files + [f for f in folders if (base / f).is_symlink()]:
            path = base / name
            relative = path.relative_to(folder).as_posix()
            if relative == MARKER:
                continue
            found[relative] = f"link:{os.readlink(path)}" if path.is_symlink() else _digest(path, known)
    return found


def read_marker(folder: Path, name: str = MARKER) -> dict | None:
    """The marker ``name`` sdtmify left in ``folder``, or None when there is none (or it is not sdtmify's)."""
    path = Path(folder) / name
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("tool") != "sdtmify":
        return None
    return data


def write_manifest(folder: Path, study: str, known: Known | None = None) -> dict:
    """Record every file now in ``folder`` (the complete marker); returns it. ``known``: see :func:`tree`."""
    manifest = {"tool": "sdtmify", "version": __version__, "study": study, "files": tree(folder, known)}
    write_text(folder / MARKER, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


@dataclass
class Foreign:
    """What in an existing folder sdtmify did not write: files added, files changed, or no marker at all."""

    marked: bool
    added: list[str]
    changed: list[str]

    @property
    def clean(self) -> bool:
        return self.marked and not self.added and not self.changed

    def describe(self, limit: int = 3) -> str:
        if not self.marked:
            return "it was not written by sdtmify (no .sdtmify-output.json)"
        parts = []
        for label, names in (("added", self.added), ("changed", self.changed)):
            if names:
                more = f" and {len(names) - limit} more" if len(names) > limit else ""
                parts.append(f"{len(names)} file(s) {label} since sdtmify wrote it ({', '.join(names[:limit])}{more})")
        return "; ".join(parts)


def inspect(folder: Path) -> Foreign:
    marker = read_marker(folder)
    if marker is None or not isinstance(marker.get("files"), dict):
        return Foreign(False, [], [])
    recorded: dict = marker["files"]
    present = tree(folder)
    added = sorted(set(present) - set(recorded))
    changed = sorted(name for name in set(present) & set(recorded) if present[name] != recorded[name])
    return Foreign(True, added, changed)


# ---------------------------------------------------------------------------------------------
# Single files sdtmify writes into a folder it does not own (``sdtmify validate --report-dir DIR``)


def foreign_files(folder: Path, names: list[str], marker: str) -> list[Path]:
    """The files among ``names`` that exist in ``folder`` but were not written by sdtmify: ``marker`` (a small
    manifest beside them) does not record them with their present sha256, or they are not plain files."""
    folder = Path(folder)
    recorded = (read_marker(folder, marker) or {}).get("files")
    recorded = recorded if isinstance(recorded, dict) else {}
    found = []
    for name in names:
        path = folder / name
        if not os.path.lexists(path):
            continue
        if path.is_symlink() or not path.is_file() or recorded.get(name) != sha256(path):
            found.append(path)
    return found


def claim_files(folder: Path, names: list[str], marker: str, force: bool, command: str, force_hint: str) -> list[Path]:
    """Check before writing ``names`` into ``folder``: files sdtmify wrote there may be replaced; any other is
    refused (naming it), or with ``force`` returned to be moved aside by :func:`set_aside`. ``force_hint`` names
    the caller's own option (e.g. "sdtmify validate --force"), so the message never names one the command lacks."""
    folder = Path(folder)
    if os.path.lexists(folder) and (folder.is_symlink() or not folder.is_dir()):
        raise OutputError(f"{folder} exists and is not a folder; choose another folder for `{command}`")
    foreign = foreign_files(folder, names, marker)
    if foreign and not force:
        raise OutputError(
            f"{foreign[0]} exists and was not written by sdtmify (or was changed since); nothing was changed. "
            f"Choose another folder, or rerun with `{force_hint}` to move it aside to {foreign[0].name}.kept-<time> "
            "(sdtmify never deletes files it did not write)"
        )
    return foreign


def set_aside(paths: list[Path], ui: Console = QUIET) -> list[Path]:
    """Rename each file to ``NAME.kept-<time>`` beside it (--force): nothing the user wrote is deleted."""
    kept = []
    for path in paths:
        if os.path.lexists(path):
            new = _kept_name(path)
            os.rename(path, new)
            ui.warn(f"moved {path} (not written by sdtmify) aside to {new}; nothing was deleted")
            kept.append(new)
    return kept


def record_files(folder: Path, names: list[str], marker: str) -> dict:
    """Write ``marker`` in ``folder``: each of ``names`` with the sha256 of what sdtmify just wrote there."""
    folder = Path(folder)
    files = {name: sha256(folder / name) for name in sorted(names)}
    manifest = {"tool": "sdtmify", "version": __version__, "files": files}
    write_text(folder / marker, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


# ---------------------------------------------------------------------------------------------
# Removing only what sdtmify wrote


def _kept_name(target: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    candidate = target.with_name(f"{target.name}.kept-{stamp}")
    counter = 1
    while os.path.lexists(candidate):
        counter += 1
        candidate = target.with_name(f"{target.name}.kept-{stamp}-{counter}")
    return candidate


def _holds_recorded(relative: str, recorded: dict) -> bool:
    """A sub-folder sdtmify made: some recorded file lies below it (or it was recorded empty)."""
    return f"{relative}/" in recorded or any(name.startswith(f"{relative}/") for name in recorded)


def remove_owned(folder: Path, kept_for: Path, ui: Console = QUIET) -> Path | None:
    """Delete a folder sdtmify wrote: the files its manifest lists (when unchanged), then the empty folders,
    the marker last, so that a kill in the middle leaves a folder the next run still recognises.

    A staging folder (marker without a file list) is sdtmify's from top to bottom. Whatever is left that
    sdtmify did not write is kept: the folder is renamed ``<kept_for>.kept-<time>`` and its new path returned."""
    marker = read_marker(folder)
    if marker is None:
        return None
    recorded = marker.get("files") if isinstance(marker.get("files"), dict) else None
    removed = 0
    for directory, _folders, files in os.walk(folder, topdown=False):
        base = Path(directory)
        for name in files:
            path = base / name
            relative = path.relative_to(folder).as_posix()
            if relative == MARKER:
                continue
            if recorded is not None:
                if relative not in recorded or path.is_symlink() or sha256(path) != recorded[relative]:
                    continue
            path.unlink()
            removed += 1
            checkpoint(f"remove-{removed}")
        if base != folder and (recorded is None or _holds_recorded(base.relative_to(folder).as_posix(), recorded)):
            with contextlib.suppress(OSError):
                base.rmdir()
    leftovers = [p for p in folder.iterdir() if p.name != MARKER]
    if leftovers:
        kept = _kept_name(kept_for)
        os.rename(folder, kept)
        ui.warn(f"kept {kept}: it holds {len(leftovers)} item(s) sdtmify did not write ({leftovers[0].name}, ...)")
        return kept
    (folder / MARKER).unlink()
    folder.rmdir()
    return None


# ---------------------------------------------------------------------------------------------
# The lock

try:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True


def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except OSError:
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


@contextlib.contextmanager
def build_lock(target: Path, wait: float = 0.0, ui: Console = QUIET, waitable: bool = True) -> Iterator[Path]:
    """Hold ``.NAME.lock`` beside ``target`` exclusively; wait up to ``wait`` seconds for another holder.
    ``waitable``: the command has ``--wait`` (build), so the refusal may suggest it.

    The holder removes the lock file when done; a waiter that locked a file removed meanwhile tries again,
    so two processes never both believe they hold the lock."""
    path = lock_path(target)
    deadline = time.monotonic() + max(0.0, wait)
    announced = False
    while True:
        try:  # never through a link: truncating the lock file must not reach another file
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        except OSError as error:
            raise OutputError(
                f"cannot use the lock file {path} ({error.strerror}): it must be a plain file sdtmify can create; "
                "remove whatever is at that path"
            ) from None
        if _try_lock(fd):
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
            continue
        os.close(fd)
        if time.monotonic() >= deadline:
            waited = f" after waiting {wait:g}s" if wait > 0 else ""
            raise OutputError(
                f"another sdtmify build{_holder(path)} is writing {target} (lock {path}){waited}; run again when it "
                f"is done{', or pass --wait SECONDS to wait for it' if waitable else ''}"
            )
        if not announced:
            ui.info(f"waiting up to {wait:g}s for another build{_holder(path)} of {target} (lock {path})")
            announced = True
        time.sleep(0.05)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Staging, swap and recovery


def _debris_pattern(target: Path) -> re.Pattern:
    return re.compile(rf"^\.{re.escape(target.name)}\.(old-)?[0-9a-f]{{8}}\.tmp$")


def recover(target: Path, ui: Console = QUIET) -> list[str]:
    """Finish what a killed run left: put a rolled-aside old output back if NAME is missing, then remove
    staging debris that carries sdtmify's marker (or is empty). Returns what was done, for messages."""
    done = []
    pattern = _debris_pattern(target)
    debris = sorted(p for p in target.parent.iterdir() if pattern.match(p.name) and p.is_dir() and not p.is_symlink())
    if not os.path.lexists(target):
        aside = [p for p in debris if p.name.startswith(f".{target.name}.old-") and read_marker(p)]
        complete = [p for p in aside if isinstance((read_marker(p) or {}).get("files"), dict)]
        if complete:
            newest = max(complete, key=lambda p: p.stat().st_mtime)
            rename_new(newest, target)
            checkpoint("restored")
            debris.remove(newest)
            done.append(f"restored {target} from {newest.name} (a build was killed while swapping)")
    for folder in debris:
        outcome = _remove_debris(folder, target, ui)
        if outcome:
            done.append(outcome)
    for line in done:
        ui.info(f"recovered: {line}")
    return done


def _remove_debris(folder: Path, target: Path, ui: Console) -> str:
    """Remove a staging folder of ``target`` left by a killed or interrupted run, if it is sdtmify's: it
    carries the marker, or holds nothing but the marker's temporary file. Says what was done."""
    if read_marker(folder) is not None:
        kept = remove_owned(folder, target, ui)
        return f"removed {folder.name} left by a killed build" + (f" (kept {kept})" if kept else "")
    entries = list(folder.iterdir())
    if all(_MARKER_TMP.match(entry.name) and entry.is_file() for entry in entries):
        for entry in entries:
            entry.unlink()
        folder.rmdir()
        return f"removed empty {folder.name} left by a killed build"
    return ""


# What sdtmify's atomic writers stage inside an output folder it updates in place (``sdtmify report``):
# atomic_dir's ``.report.<8>.tmp`` and ``.report.old-<8>.tmp``, atomic_path's ``.<file>.<8>.tmp``.
_INNER_STAGING = re.compile(r"^\.[^/]+\.(old-)?[a-z0-9_]{8}\.tmp$")


def clean_staging(target: Path, ui: Console = QUIET) -> list[str]:
    """Remove the staging debris a killed ``sdtmify report`` (or manifest write) left inside ``target``, an
    output folder carrying sdtmify's marker: only top-level names of sdtmify's own staging pattern that the
    manifest does not list. Call it only while holding ``target``'s build lock (no run of sdtmify is then
    writing there, so the debris is a dead run's). Returns the names removed."""
    import shutil

    target = Path(target)
    marker = read_marker(target)
    if marker is None or target.is_symlink() or not target.is_dir():
        return []
    files = marker.get("files")
    recorded: dict = files if isinstance(files, dict) else {}
    removed = []
    for entry in sorted(target.iterdir()):
        name = entry.name
        if not _INNER_STAGING.match(name) or name in recorded or _holds_recorded(name, recorded):
            continue
        if entry.is_symlink():
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed.append(name)
    for name in removed:
        ui.info(f"recovered: removed {target / name} left by a killed sdtmify run")
    return removed


def _new_staging(target: Path) -> Path:
    while True:
        staging = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            staging.mkdir()
            return staging
        except FileExistsError:
            continue


def _mark_staging(staging: Path, target: Path, study: str) -> None:
    checkpoint("staging-created")
    marker = {"tool": "sdtmify", "version": __version__, "study": study, "staging": target.name}
    write_text(staging / MARKER, json.dumps(marker, indent=1, sort_keys=True) + "\n")
    checkpoint("staging-marked")


def check_replaceable(target: Path, force: bool) -> str:
    """What to do with an existing ``target``: 'absent', 'ours' (replace), 'empty' (remove the empty folder)
    or 'aside' (--force: move the whole folder to NAME.kept-<time>). Refuses otherwise."""
    if not os.path.lexists(target):
        return "absent"
    if target.is_symlink() or not target.is_dir():
        raise OutputError(
            f"output folder {target} exists and is not a folder; choose another folder with `sdtmify build --out`"
        )
    if not any(target.iterdir()):
        return "empty"
    foreign = inspect(target)
    if foreign.clean:
        return "ours"
    if force:
        return "aside"
    raise OutputError(
        f"output folder {target} exists and {foreign.describe()}; nothing was changed. Move it away, or rerun "
        "`sdtmify build` with another --out, or with --force to move it aside to "
        f"{target.name}.kept-<time> (sdtmify never deletes files it did not write)"
    )


@contextlib.contextmanager
def guarded_output(
    target: Path, study: str, force: bool = False, wait: float = 0.0, ui: Console = QUIET, known: Known | None = None
) -> Iterator[Path]:
    """Lock ``target``, recover from killed runs, yield a staging folder; when the body succeeds, record the
    manifest and swap the staging folder into place (see the module docstring). ``known``: digests the body
    took of files it wrote (:func:`digests`; it may fill the dict while it runs), not computed again."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with build_lock(target, wait, ui):
        checkpoint("locked")
        recover(target, ui)
        clean_staging(target, ui)
        checkpoint("recovered")
        check_replaceable(target, force)
        staging = _new_staging(target)
        try:
            _mark_staging(staging, target, study)
            yield staging
            write_manifest(staging, study, known)
            checkpoint("manifest-written")
            existing = check_replaceable(target, force)  # again: the folder may have changed during the build
        except BaseException:
            _remove_debris(staging, target, ui)
            raise
        _swap(staging, target, existing, ui)
        checkpoint("done")


@contextlib.contextmanager
def updating(target: Path, ui: Console = QUIET) -> Iterator[Path]:
    """Change an existing sdtmify output in place (``sdtmify report`` rewrites its report/): locked, only when
    it is sdtmify's own and unchanged, and its manifest rewritten afterwards."""
    target = Path(target)
    if not target.is_dir():  # nothing to guard; the caller finds its inputs missing and says so
        yield target
        return
    with build_lock(target, 0.0, ui, waitable=False):
        clean_staging(target, ui)
        foreign = inspect(target)
        if not foreign.clean:
            raise OutputError(f"output folder {target}: {foreign.describe()}; nothing was changed")
        study = str((read_marker(target) or {}).get("study", ""))
        yield target
        write_manifest(target, study)


def _swap(staging: Path, target: Path, existing: str, ui: Console) -> None:
    if existing == "aside":
        kept = _kept_name(target)
        os.rename(target, kept)
        ui.warn(f"moved {target} (not sdtmify's own, or changed by hand) aside to {kept}; nothing was deleted")
        existing = "absent"
        checkpoint("moved-aside")
    elif existing == "empty":
        target.rmdir()
        existing = "absent"
    checkpoint("before-swap")
    if existing == "absent":
        rename_new(staging, target)
        checkpoint("after-swap")
        return
    if exchange(staging, target):  # staging now holds the old output
        checkpoint("after-swap")
        remove_owned(staging, target, ui)
        checkpoint("old-removed")
        return
    old = target.parent / f".{target.name}.old-{secrets.token_hex(4)}.tmp"
    os.rename(target, old)
    checkpoint("between-renames")
    rename_new(staging, target)
    checkpoint("after-swap")
    remove_owned(old, target, ui)
    checkpoint("old-removed")


__all__ = [
    "MARKER",
    "OutputError",
    "build_lock",
    "check_replaceable",
    "claim_files",
    "clean_staging",
    "digests",
    "foreign_files",
    "guarded_output",
    "inspect",
    "read_marker",
    "record_files",
    "recover",
    "remove_owned",
    "set_aside",
    "tree",
    "updating",
    "write_manifest",
]
