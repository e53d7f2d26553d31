"""Shared fixtures. Read this before writing a test that needs NCI84 built.

The suite runs in parallel (pyproject.toml addopts: ``-n auto --dist loadscope``, pytest-xdist): every
worker is its own pytest session, and the tests of one module run on one worker. ``pytest -n 0`` runs
everything in one process (for ``--pdb`` or ``-s``); ``pytest tests/test_x.py`` works as usual.

Fixtures for every test file:

``project_root``
    The checkout (a ``Path``).
``shared``
    ``../shared`` (reference XPT, CT, schemas, CORE results); skips with a reason when absent.
``rscript``
    Path of ``Rscript`` with haven installed; skips with a reason otherwise.
``nci84_output`` -> ``(folder, BuildResult)``
    NCI84 built once for the whole run, every stage (SDTM, ADaM, XPT, Dataset-JSON, define.xml, lineage,
    validation, report), exactly as ``sdtmify build --study NCI84 --out <folder>`` writes it. Under xdist
    the first worker that asks builds it, under a file lock, in a folder shared by all workers of this run;
    the others wait for it and read the same files and the same ``BuildResult``. The folder is READ ONLY:
    a test that needs a changed build copies it (``shutil.copytree(folder, tmp_path / "NCI84")``), or better,
    builds the 3-patient mini study (``mini_home``), or changes in-memory frames.
``nci84_bundles`` -> ``(study, sdtm Bundle, adam Bundle)``
    NCI84's SDTM and ADaM built in memory (``build_sdtm`` / ``build_adam``), once per worker. READ ONLY:
    copy a frame (``.copy()``) before changing it.
``mini_home`` -> ``Path``
    A project root in ``tmp_path`` holding ``mappings/NCI84`` with the study's real SDTM YAML and 3 invented
    patients (tests/studies/nci84_mini.py), with ``SDTMIFY_HOME`` pointing at it for the test. A build of it
    takes a second or two: use it for variant builds (a broken mapping, an edited spec, another option).

Do not build the full NCI84 study in a new test: every full build costs 10-15 s of the suite's 5-minute
budget on 2 cores.

Order: test_build.py runs first, modules that read ``nci84_output`` last (see pytest_collection_modifyitems).

Markers: a test that uses ``nci84_output`` or ``nci84_bundles`` is marked ``slow`` here, at collection;
mark other tests that take more than about 2 s with ``@pytest.mark.slow`` yourself. ``slow`` tests are part
of the default run (CI runs every test); ``-m "not slow"`` gives a quick check while editing.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# `pytest tests/fuzz --hypothesis-profile fuzz`: 10,000 examples per fuzz target (not in the default run,
# where tests/fuzz uses a few dozen; see docs/inputs.md)
settings.register_profile(
    "fuzz",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(Path(__file__).parent / "studies"))


# Builds the tests start run in one process (--jobs 1) unless a test asks for two lanes: the xdist workers
# already keep both cores busy, so a second lane per build would only add forks. tests/test_lanes.py and the
# terminal progress test pass --jobs 2 themselves.
os.environ.setdefault("SDTMIFY_JOBS", "1")

# A test run started as a background job of a non-interactive shell (`bash .ci/run &`, nohup) inherits SIGINT
# ignored, and so would every sdtmify process the tests start: Python keeps an inherited SIG_IGN, so the tests
# that press Ctrl-C (SIGINT) on a build would wait for it in vain. Handled here, the signal is reset to its
# default in those processes when they exec, as on a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

SLOW_FIXTURES = {"nci84_output", "nci84_bundles"}
# Runs first: it needs the shared build and makes a second one in a process, so one worker starts building
# at once while the other runs the tests that need no build.
BUILDS_FIRST = "test_build.py"


def pytest_collection_modifyitems(items):
    """Tests that need NCI84 built are slow, whoever wrote them. Order: test_build.py, then the modules that
    need no shared build, then the other modules that read it (built by then, so no worker waits for it)."""
    readers = set()
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if SLOW_FIXTURES & used:
            item.add_marker(pytest.mark.slow)
        if "nci84_output" in used:
            readers.add(item.path)

    def rank(item) -> int:
        return 0 if item.path.name == BUILDS_FIRST else 2 if item.path in readers else 1

    items[:] = sorted(items, key=rank)  # stable: the order within a rank is the collection order


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared() -> Path:
    """``../shared`` (reference XPT, CT, schemas, CORE results). CI has it; elsewhere we skip."""
    if not SHARED.is_dir():
        pytest.skip(f"reference material not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def rscript() -> str:
    """Path of Rscript with haven installed, or skip saying why."""
    exe = shutil.which("Rscript")
    if not exe:
        pytest.skip("Rscript not installed (apt-get install r-base-core r-cran-haven; dev.sh test does this as root)")
    probe = subprocess.run([exe, "-e", "library(haven)"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("R package haven not installed (apt-get install r-cran-haven)")
    return exe


def _build_nci84(folder: Path):
    from sdtmify.build import build_study

    return build_study("NCI84", out_dir=str(folder / "NCI84"))


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _shared_build(cache: Path):
    """(folder, BuildResult, digests) of the build in ``cache``, made by whichever worker gets the lock first."""
    from filelock import FileLock

    # The lock and the pickled result sit beside the build's folder, not in it: its parent holds NCI84 alone.
    home = cache / "build"
    result_file = cache / "result.pickle"
    with FileLock(str(cache / "build.lock")):
        if not result_file.is_file():
            home.mkdir(exist_ok=True)  # exists if a worker died building it (the build is atomic: no NCI84)
            result = _build_nci84(home)
            partial = cache / "result.pickle.part"
            partial.write_bytes(pickle.dumps((result, _digests(home / "NCI84"))))
            os.replace(partial, result_file)
        result, digests = pickle.loads(result_file.read_bytes())
    return home / "NCI84", result, digests


@pytest.fixture(scope="session")
def nci84_output(tmp_path_factory):
    """NCI84 built once per run, every stage, into a temporary folder: ``(folder, BuildResult)``.

    Tests read the files on disk, as users and reviewers do. With xdist, the workers share one build:
    the run's base temporary folder (the parent of each worker's own) holds it, a file lock makes the
    first worker build while the others wait, and the BuildResult travels to them pickled. At the end
    of the session the files must be as built: a test that wrote into the shared folder fails the run."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        cache = tmp_path_factory.getbasetemp().parent / "nci84_output"
        cache.mkdir(exist_ok=True)
        folder, result, digests = _shared_build(cache)
    else:  # not under xdist: this process is the whole run
        home = tmp_path_factory.mktemp("nci84_output")
        result = _build_nci84(home)
        folder, digests = home / "NCI84", _digests(home / "NCI84")
    yield folder, result
    now = _digests(folder)
    changed = sorted(name for name in digests.keys() | now.keys() if digests.get(name) != now.get(name))
    assert changed == [], f"tests changed the shared NCI84 build (nci84_output is read only): {changed}"


@pytest.fixture(scope="session")
def nci84_bundles():
    """NCI84's SDTM and ADaM in memory, built once per worker: ``(study, sdtm Bundle, adam Bundle)``."""
    from sdtmify.adam.engine import build_adam
    from sdtmify.mapping.engine import build_sdtm
    from sdtmify.study import load_study

    study = load_study("NCI84")
    sdtm = build_sdtm(study)
    return study, sdtm, build_adam(study, sdtm)


@pytest.fixture
def mini_home(tmp_path, monkeypatch) -> Path:
    """A project root with the 3-patient NCI84 (real YAML, invented tables); SDTMIFY_HOME points at it."""
    from nci84_mini import write_mini

    home = tmp_path / "home"
    write_mini(home)
    monkeypatch.setenv("SDTMIFY_HOME", str(home))
    return home
