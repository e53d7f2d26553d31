"""The two-lane build (sdtmify.lanes, build._two_lanes) as users run it: the installed console script (or
a real process running the CLI's main with one writer replaced), on the 3-patient mini study.

- ``--jobs 2`` writes the same files and says the same things as ``--jobs 1``, with the SDTM files, the
  ADaM Dataset-JSON and the report written by children run one after another (the second lane), but the
  report, which the first process recomputes when it would otherwise wait for the SDTM files;
- an error in the second lane reaches the user as the serial build shows it (text, exit code), and nothing
  is swapped into place;
- a second lane killed by a signal gives one line and exit 2; Ctrl-C in the parent kills and reaps it, and
  a parent killed outright takes it along."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sdtmify import lanes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="lanes fork: Linux only")

SDTMIFY = shutil.which("sdtmify", path=str(Path(sys.executable).parent)) or shutil.which("sdtmify") or "sdtmify"

# The CLI's main with write_lineage replaced: raise an InputError, kill itself, or sleep, for the SDTM lineage
# (written by the second lane; the serial build writes it at the same point of its order). "files-last":
# the SDTM lineage waits until the report has started; "adam-last": ADaM is derived only once the SDTM
# files' lane has finished its work.
PATCHED = """
import os, sys, time
from pathlib import Path
from sdtmify import build
from sdtmify.errors import InputError, Location

real = build.write_lineage
how = os.environ["LANE_TEST"]

def write_lineage(bundle, folder):
    if bundle.standard == "SDTM":
        if how == "error":
            raise InputError("no source for LBTESTCD (did you mean LBTEST?)", Location("sdtm/lb.yaml", 12, "LBTESTCD"))
        if how == "kill":
            os.kill(os.getpid(), 9)
        if how == "sleep":
            said = Path(os.environ["LANE_PID"])  # written whole, then renamed: the test never reads it half-written
            said.with_suffix(".tmp").write_text(str(os.getpid()))
            said.with_suffix(".tmp").replace(said)
            time.sleep(120)
    return real(bundle, folder)

build.write_lineage = write_lineage
flag = Path(os.environ.get("LANE_FLAG", "flag"))

def wait_for_flag(then: float = 0.0) -> None:
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(then)

if how == "files-last":
    real_report, real_lineage = build._report_lane, build.write_lineage

    def report_lane(*args):
        flag.write_text("report")
        return real_report(*args)

    def late_lineage(bundle, folder):
        if bundle.standard == "SDTM":
            wait_for_flag()
        return real_lineage(bundle, folder)

    build._report_lane, build.write_lineage = report_lane, late_lineage
if how == "adam-last":
    real_files, real_adam = build._files_lane, build.build_adam

    def files_lane(bundle, *args, **kwargs):
        done = real_files(bundle, *args, **kwargs)
        if bundle.standard == "SDTM":
            flag.write_text("SDTM files")
        return done

    def late_adam(*args, **kwargs):
        wait_for_flag(then=1.0)  # the lane's work is over once files_lane has returned: give it that moment
        return real_adam(*args, **kwargs)

    build._files_lane, build.build_adam = files_lane, late_adam
from sdtmify.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SDTMIFY_STAGE_LOG", "SDTMIFY_JOBS", "SOURCE_DATE_EPOCH")}
    return {**env, "SDTMIFY_HOME": str(home), **extra}


def _patched(home: Path, how: str, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PATCHED, "build", "--study", "NCI84", *args],
        env=_env(home, LANE_TEST=how, **extra),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(folder: Path) -> list[str]:
    """What a build left beside its output folder: staging folders, locks."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".out"))


def _with_adam_and_report(home: Path) -> None:
    """The mini study with NCI84's ADaM and report (but its comparisons with the published values, which
    name patients the mini study has not), so that every lane has work."""
    study = Path(__file__).resolve().parents[1] / "mappings" / "NCI84"
    shutil.copytree(study / "adam", home / "mappings" / "NCI84" / "adam")
    shutil.copy(study / "published.yaml", home / "mappings" / "NCI84")
    text = (study / "report.yaml").read_text(encoding="utf-8")
    compare, figures = text.index("\ncompare:"), text.index("\nfigures:")
    (home / "mappings" / "NCI84" / "report.yaml").write_text(text[:compare] + text[figures:], encoding="utf-8")


def test_two_lanes_write_and_say_what_one_lane_does(mini_home):
    _with_adam_and_report(mini_home)
    runs = {}
    for jobs in ("1", "2"):
        log = mini_home / f"stages-{jobs}.jsonl"
        done = subprocess.run(
            [SDTMIFY, "build", "--study", "NCI84", "--out", str(mini_home / f"out{jobs}"), "--jobs", jobs, "-v"],
            env=_env(mini_home, SDTMIFY_STAGE_LOG=str(log)),
            cwd=mini_home,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode in (0, 1), done.stderr
        records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        runs[jobs] = done, records
    (serial, one), (laned, two) = runs["1"], runs["2"]
    assert _files(mini_home / "out2") == _files(mini_home / "out1")
    assert laned.stdout.replace("out2", "out1") == serial.stdout
    timing = re.compile(r"\d+\.\d+s")  # -v prints each stage's seconds
    assert timing.sub("", laned.stderr) == timing.sub("", serial.stderr)
    # the serial build ran in one process; the two-lane build validated in its first, while children wrote
    # the SDTM files, then the ADaM Dataset-JSON, then the report, each starting when the one before was done
    # (or the report in the first, before define.xml, when the SDTM files were still being written)
    assert {r["pid"] for r in one} == {one[0]["pid"]}
    _assert_lanes(two, report_first=_report_first(two))


def _report_first(records: list[dict]) -> bool:
    """Whether the first process recomputed the report (else a third child did)."""
    return any(r["stage"] == "report" and r["pid"] == records[0]["pid"] for r in records)


def _assert_lanes(records: list[dict], report_first: bool) -> None:
    """The stages of a two-lane build ran in the processes and the order :func:`build._two_lanes` says."""
    main = records[0]["pid"]
    assert {r["pid"] for r in records if r["stage"] in ("adam", "validate", "define")} == {main}
    children = list(dict.fromkeys(r["pid"] for r in records if r["pid"] != main))  # in the order they logged
    assert len(children) == (2 if report_first else 3)
    sdtm_files, adam_files = children[:2]
    assert {r["pid"] for r in records if r["stage"] == "dataset-json"} == {sdtm_files, adam_files}
    assert {r["pid"] for r in records if r["stage"] == "xpt"} == {sdtm_files, main}  # ADaM's: before validation
    lines = {pid: [i for i, r in enumerate(records) if r["pid"] == pid] for pid in children}
    assert max(lines[sdtm_files]) < min(lines[adam_files])
    ends = {r["stage"]: i for i, r in enumerate(records) if r["event"] == "exit" and r["pid"] == main}
    if report_first:  # before define.xml (the serial build: after the validation)
        assert {r["pid"] for r in records if r["stage"] == "report"} == {main}
        assert ends["report"] < ends["define"]
    else:
        assert {r["pid"] for r in records if r["stage"] == "report"} == {children[2]}
        assert max(lines[adam_files]) < min(lines[children[2]])


@pytest.mark.parametrize("how, report_first", [("files-last", True), ("adam-last", False)])
def test_the_report_goes_to_the_lane_that_would_wait(mini_home, how, report_first):
    """Lane 1 recomputes the report when, ADaM's XPT files written, lane 2 still writes the SDTM files;
    else a third child does, once the ADaM files are written. The outputs are the serial build's either way."""
    _with_adam_and_report(mini_home)
    serial = subprocess.run(
        [SDTMIFY, "build", "--study", "NCI84", "--out", str(mini_home / "serial"), "--jobs", "1"],
        env=_env(mini_home),
        cwd=mini_home,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = mini_home / "stages.jsonl"
    laned = _patched(
        mini_home,
        how,
        "--out",
        str(mini_home / "laned"),
        "--jobs",
        "2",
        SDTMIFY_STAGE_LOG=str(log),
        LANE_FLAG=str(mini_home / "flag"),
    )
    assert serial.returncode in (0, 1) and laned.returncode == serial.returncode, laned.stderr
    assert _files(mini_home / "laned") == _files(mini_home / "serial")
    assert laned.stdout.replace("laned", "serial") == serial.stdout
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    _assert_lanes(records, report_first)


def test_an_error_in_the_second_lane_reaches_the_user_as_in_a_serial_build(mini_home):
    serial = _patched(mini_home, "error", "--out", str(mini_home / "out"), "--jobs", "1")
    laned = _patched(mini_home, "error", "--out", str(mini_home / "out"), "--jobs", "2")
    assert serial.returncode == laned.returncode == 2
    assert (
        serial.stderr.splitlines()[-1]
        == "error: sdtm/lb.yaml:12 LBTESTCD: no source for LBTESTCD (did you mean LBTEST?)"
    )
    assert laned.stderr == serial.stderr
    assert (laned.stdout, serial.stdout) == ("", "")
    assert not (mini_home / "out").exists()
    assert _leftovers(mini_home) == []  # the staging folder was removed, nothing swapped in


def test_a_second_lane_killed_by_a_signal_gives_one_line_and_no_output(mini_home):
    done = _patched(mini_home, "kill", "--out", str(mini_home / "out"), "--jobs", "2")
    assert done.returncode == 2
    last = done.stderr.splitlines()[-1]
    assert last.startswith("error: the build's second lane (process ")
    assert last.endswith(
        ", writing the SDTM XPT, Dataset-JSON, metadata and lineage files) ended by signal 9 (out of memory?); "
        "the previous output was left as it was"
    )
    assert "Traceback" not in done.stderr
    assert not (mini_home / "out").exists()
    assert _leftovers(mini_home) == []


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by whoever adopted it, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_a_parent_that_stops_takes_the_second_lane_with_it(mini_home, stop):
    pid_file = mini_home / "lane.pid"
    process = subprocess.Popen(
        [sys.executable, "-c", PATCHED, "build", "--study", "NCI84", "--out", str(mini_home / "out"), "--jobs", "2"],
        env=_env(mini_home, LANE_TEST="sleep", LANE_PID=str(pid_file)),
        cwd=mini_home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not pid_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(pid_file.read_text())
        assert child != process.pid
        process.send_signal(stop)  # to the parent only: it (or, killed outright, the kernel) must stop the child
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not (mini_home / "out").exists()
    if stop == signal.SIGINT:
        assert process.returncode == 130
        assert err.splitlines()[-1] == "error: interrupted; the previous output was left as it was"
        assert _leftovers(mini_home) == []
        with pytest.raises(ProcessLookupError):  # killed and reaped by the parent: not even a zombie is left
            os.kill(child, 0)
    else:
        assert process.returncode == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(child)


def test_jobs_come_from_the_option_then_the_environment(monkeypatch):
    monkeypatch.setenv(lanes.ENVIRONMENT, "1")
    assert lanes.jobs_wanted(None) == 1
    assert lanes.jobs_wanted(2) == 2
    monkeypatch.setenv(lanes.ENVIRONMENT, "two")
    with pytest.raises(lanes.LaneError, match="SDTMIFY_JOBS='two': not a whole number"):
        lanes.jobs_wanted(None)
    monkeypatch.delenv(lanes.ENVIRONMENT)
    assert lanes.jobs_wanted(None) == (2 if (os.cpu_count() or 1) >= 2 else 1)
