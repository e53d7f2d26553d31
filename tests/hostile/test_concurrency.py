"""Concurrent builds: one build per output folder at a time (a flock on output/.NCI84.lock); a second build of
the same output refuses at once, or waits with --wait; builds of different studies run in parallel.

Every build here is a real process: forked children of the warm test process, and the installed console
script for the refusal. ``SDTMIFY_TEST_SLEEP_AT=locked:<s>`` holds a build right after it took its lock."""

from __future__ import annotations

import os
import shutil
import signal
import time

from cases import leftovers
from harness import BUILD, run, start_forked, tree_digest


def _holds_lock(project, pid: int, seconds: float = 60) -> None:
    lock = project.root / "output" / ".NCI84.lock"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip() == str(pid):
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} never took {lock}")


def _stop(holder) -> None:
    os.kill(holder.pid, signal.SIGKILL)
    assert holder.finish().code == -signal.SIGKILL


def test_second_build_of_the_same_output_refuses_naming_the_holder(project):
    before = project.snapshot()
    holder = start_forked(BUILD, project.root, {"SDTMIFY_TEST_SLEEP_AT": "locked:120"})
    try:
        _holds_lock(project, holder.pid)
        second = run(BUILD, project.root)  # the installed console script, its own interpreter
        second.expect(
            2,
            f"another sdtmify build (process {holder.pid}) is writing {project.root}/output/NCI84 "
            f"(lock {project.root}/output/.NCI84.lock); run again when it is done, or pass --wait SECONDS",
        )
    finally:
        _stop(holder)
    project.assert_outside_unchanged(before, output="output")
    assert tree_digest(project.output) == project.previous_output()


def test_waiting_build_runs_when_the_holder_is_gone(project):
    holder = start_forked(
        BUILD, project.root, {"SDTMIFY_TEST_SLEEP_AT": "locked:1.5", "SDTMIFY_TEST_KILL_AT": "recovered"}
    )
    _holds_lock(project, holder.pid)
    waiter = start_forked(["build", "--study", "NCI84", "--no-validate", "--no-report", "--wait", "120"], project.root)
    assert holder.finish().code == -signal.SIGKILL  # died holding the lock: the system releases it
    outcome = waiter.finish()
    outcome.expect(0, f"waiting up to 120s for another build (process {holder.pid}) of {project.root}/output/NCI84")
    assert tree_digest(project.output) == project.previous_output()
    assert leftovers(project.root / "output") == []


def test_wait_that_runs_out_refuses(project):
    before = project.snapshot()
    holder = start_forked(BUILD, project.root, {"SDTMIFY_TEST_SLEEP_AT": "locked:120"})
    try:
        _holds_lock(project, holder.pid)
        started = time.monotonic()
        outcome = start_forked([*BUILD, "--wait", "0.5"], project.root).finish()
        outcome.expect(2, f"another sdtmify build (process {holder.pid}) is writing")
        assert "after waiting 0.5s" in outcome.stderr
        assert 0.5 <= time.monotonic() - started < 30
    finally:
        _stop(holder)
    project.assert_outside_unchanged(before, output="output")
    assert tree_digest(project.output) == project.previous_output()


def test_builds_of_different_studies_run_in_parallel(project):
    copy = project.root / "mappings" / "OTHER1"
    shutil.copytree(project.study, copy)
    (copy / "study.yaml").write_text((copy / "study.yaml").read_text().replace("studyid: NCI84", "studyid: OTHER1", 1))
    holder = start_forked(BUILD, project.root, {"SDTMIFY_TEST_SLEEP_AT": "locked:120"})
    try:
        _holds_lock(project, holder.pid)
        other = start_forked(["-q", "build", "--study", "OTHER1", "--no-validate", "--no-report"], project.root)
        other.finish().expect(0, f"{project.root}/output/OTHER1")
        assert holder.running(), "the NCI84 build should still be holding its own lock"
    finally:
        _stop(holder)
    project.assert_complete_output(project.root / "output" / "OTHER1")
    assert tree_digest(project.output) == project.previous_output()


def test_two_builds_started_together_both_succeed_one_after_the_other(project):
    """The race of the issue (two builds renaming into the same place): with --wait they take turns."""
    first = start_forked([*BUILD, "--wait", "120"], project.root)
    second = start_forked([*BUILD, "--wait", "120"], project.root)
    for outcome in (first.finish(), second.finish()):
        outcome.expect(0, "-> ")
    project.assert_complete_output()
    assert tree_digest(project.output) == project.previous_output()
    assert leftovers(project.root / "output") == []
