"""The hostile-input harness: run sdtmify as a careless or hostile user would, and prove nothing was lost.

- ``run(args, cwd)`` runs the installed ``sdtmify`` console script in a real process;
  ``run_inprocess(args, cwd)`` calls ``sdtmify.cli.main`` in this process with captured streams (fast;
  use it unless the case is about signals, locks or the console script itself).
- ``tree_digest(root, exclude)`` snapshots a folder: relative path -> sha256 (``dir`` for folders,
  ``link:<target>`` for symbolic links, never followed).
- the ``project`` fixture is a scratch project root: ``mappings/NCI84`` (the 3-patient mini study of
  tests/studies/nci84_mini.py), ``specs`` (a link to the real one) and ``output/NCI84`` holding one
  previous good build. It is built once per session and copied for each test.

Every case checks three things besides its exit code and message: no traceback, the tree outside the
output folder byte-for-byte unchanged (``Project.assert_outside_unchanged``), and the previous output
intact (``Project.assert_previous_output_intact``) unless the case expects a successful rebuild.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "studies"))

from nci84_mini import write_mini  # noqa: E402

TRACEBACK = "Traceback (most recent call last)"
# Every hostile build skips validation and the report: the mini study has nothing for the report, and the
# guard, the lock and the swap are what is under test. The template's previous build uses the same flags,
# so a successful rebuild must reproduce it byte for byte.
FAST = ["--no-validate", "--no-report"]
BUILD = ["-q", "build", "--study", "NCI84", *FAST]


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr

    def expect(self, code: int, fragment: str = "") -> Outcome:
        """Assert the exit code, the message fragment (stdout or stderr) and the absence of a traceback."""
        assert TRACEBACK not in self.text, self.text
        assert self.code == code, f"exit {self.code}, expected {code}\n{self.text}"
        assert fragment in self.text, f"{fragment!r} not in:\n{self.text}"
        return self


def sdtmify_script() -> Path:
    """The console script installed next to this interpreter."""
    script = Path(sys.executable).parent / ("sdtmify.exe" if os.name == "nt" else "sdtmify")
    if not script.exists():
        pytest.skip(f"the sdtmify console script is not installed next to {sys.executable}")
    return script


def _environment(cwd: Path, env: dict[str, str] | None) -> dict[str, str]:
    """The environment a case runs in: SDTMIFY_HOME pinned to the scratch project (so a case can never reach
    the real checkout's output/), SOURCE_DATE_EPOCH and test hooks cleared unless the case sets them."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SDTMIFY_") and k != "SOURCE_DATE_EPOCH"}
    base["SDTMIFY_HOME"] = str(_project_of(cwd))
    base.update(env or {})
    return base


def _project_of(cwd: Path) -> Path:
    for candidate in (Path(cwd).resolve(), *Path(cwd).resolve().parents):
        if (candidate / "mappings").is_dir() and (candidate / "specs").exists():
            return candidate
    return Path(cwd).resolve()


def run(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Outcome:
    """The real console script in its own process."""
    done = subprocess.run(
        [str(sdtmify_script()), *map(str, args)],
        cwd=cwd,
        env=_environment(Path(cwd), env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def start(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """The console script started in the background (locks, signals); ``finish`` collects it."""
    return subprocess.Popen(
        [str(sdtmify_script()), *map(str, args)],
        cwd=cwd,
        env=_environment(Path(cwd), env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 120) -> Outcome:
    stdout, stderr = process.communicate(timeout=timeout)
    return Outcome(process.returncode, stdout, stderr)


@dataclass
class Forked:
    """A forked child running ``sdtmify.cli.main``; ``finish()`` waits for it."""

    pid: int
    out: object
    err: object
    args: Sequence[str]

    def running(self) -> bool:
        done, status = os.waitpid(self.pid, os.WNOHANG)
        if done:
            self._status = status
        return not done

    def finish(self, timeout: float = 120) -> Outcome:
        import signal
        import time

        deadline = time.monotonic() + timeout
        status = getattr(self, "_status", None)
        while status is None:
            done, found = os.waitpid(self.pid, os.WNOHANG)
            if done:
                status = found
                break
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                raise TimeoutError(f"sdtmify {' '.join(map(str, self.args))} ran longer than {timeout}s")
            time.sleep(0.01)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        texts = []
        for handle in (self.out, self.err):
            handle.seek(0)
            texts.append(handle.read())
            handle.close()
        return Outcome(code, *texts)


def start_forked(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Forked:
    """``sdtmify.cli.main(args)`` in a forked child of this (already warm) process: a real process that a
    kill hook may SIGKILL and that holds real locks, without the second of import time a fresh interpreter
    costs. A child killed by a signal gives the negative signal number as its code, as subprocess does."""
    import tempfile

    import sdtmify.cli

    environment = _environment(Path(cwd), env)
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 3
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            sys.stdout = open(1, "w", closefd=False)
            sys.stderr = open(2, "w", closefd=False)
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(environment)
            code = sdtmify.cli.main([str(a) for a in args])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return Forked(pid, out, err, list(args))


def run_forked(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Outcome:
    return start_forked(args, cwd, env).finish(timeout)


def run_inprocess(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Outcome:
    """``sdtmify.cli.main(args)`` in this process, in ``cwd``, with the case's environment and captured
    stdout/stderr; argparse's SystemExit becomes the exit code as in a real process."""
    from sdtmify.cli import main

    environment = _environment(Path(cwd), env)
    if "SDTMIFY_TEST_KILL_AT" in environment:
        raise ValueError("a kill hook in-process would kill the test runner: use run()")
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(environment)
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return Outcome(int(code), out.getvalue(), err.getvalue())


def tree_digest(root: Path, exclude: Iterable[str] = ()) -> dict[str, str]:
    """Every file, folder and link below ``root``: relative path -> sha256 / ``dir`` / ``link:<target>``.
    ``exclude`` lists relative paths whose whole subtree is left out."""
    root = Path(root)
    skipped = {Path(e).as_posix().rstrip("/") for e in exclude}
    found: dict[str, str] = {}
    if not root.exists():
        return found
    for directory, folders, files in os.walk(root):
        base = Path(directory)
        for name in list(folders):
            relative = (base / name).relative_to(root).as_posix()
            if relative in skipped:
                folders.remove(name)
            elif (base / name).is_symlink():
                found[relative] = f"link:{os.readlink(base / name)}"
                folders.remove(name)
            else:
                found[relative] = "dir"
        for name in files:
            path = base / name
            relative = path.relative_to(root).as_posix()
            if relative in skipped:
                continue
            if path.is_symlink():
                found[relative] = f"link:{os.readlink(path)}"
            else:
                found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@dataclass
class Project:
    """A scratch project root with the mini study and one previous good build."""

    root: Path
    baseline: dict[str, str] = field(default_factory=dict)  # the whole tree as the fixture made it

    @property
    def study(self) -> Path:
        return self.root / "mappings" / "NCI84"

    @property
    def output(self) -> Path:
        return self.root / "output" / "NCI84"

    def previous_output(self) -> dict[str, str]:
        prefix = "output/NCI84/"
        return {k[len(prefix) :]: v for k, v in self.baseline.items() if k.startswith(prefix)}

    def snapshot(self, exclude: Iterable[str] = ()) -> dict[str, str]:
        return tree_digest(self.root, exclude)

    def assert_outside_unchanged(self, before: dict[str, str], output: str = "output/NCI84") -> None:
        """Byte-for-byte: everything outside ``output`` (relative to the root) as in ``before``."""
        now = self.snapshot(exclude=[output])
        then = {k: v for k, v in before.items() if k != output and not k.startswith(output + "/")}
        changed = sorted(k for k in set(now) | set(then) if now.get(k) != then.get(k))
        assert not changed, f"changed outside {output}: {changed[:10]}"

    def assert_previous_output_intact(self) -> None:
        assert tree_digest(self.output) == self.previous_output(), "the previous output was changed"

    def assert_complete_output(self, folder: Path | None = None) -> dict[str, str]:
        """The folder holds exactly the files its manifest lists, each with its recorded sha256."""
        from sdtmify.guard import inspect, read_marker

        folder = folder or self.output
        marker = read_marker(folder)
        assert marker is not None and isinstance(marker.get("files"), dict), f"{folder} has no complete manifest"
        foreign = inspect(folder)
        assert foreign.clean, foreign.describe()
        digest = {k: v for k, v in tree_digest(folder).items() if v != "dir"}
        assert set(digest) == set(marker["files"]) | {".sdtmify-output.json"}
        return digest


def make_template(folder: Path) -> Path:
    """A project root with the mini study and one default build of it in output/NCI84."""
    root = folder / "project"
    (root / "output").mkdir(parents=True)
    write_mini(root)
    (root / "specs").symlink_to(REPO / "specs", target_is_directory=True)
    outcome = run_inprocess(BUILD, cwd=root)
    assert outcome.code == 0, outcome.text
    return root


@pytest.fixture(scope="session")
def project_template(tmp_path_factory) -> Path:
    return make_template(tmp_path_factory.mktemp("hostile-template"))


@pytest.fixture
def project(project_template, tmp_path) -> Project:
    """A fresh copy of the template project for one case."""
    root = tmp_path / "project"
    shutil.copytree(project_template, root, symlinks=True)
    made = Project(root)
    made.baseline = made.snapshot()
    return made
