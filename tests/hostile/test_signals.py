"""Crash safety: a build killed (SIGKILL) at any of 21 moments leaves the complete old or the complete new
output, and the next build recovers; Ctrl-C and SIGTERM unwind cleanly.

Each kill is deterministic: ``SDTMIFY_TEST_KILL_AT=<checkpoint>`` makes the build SIGKILL itself there
(``write-N``: the N-th file written; ``remove-N``: the N-th file of an old output removed). Killed builds are
forked children of the test process (real processes, without re-importing pandas); one sample runs the
installed console script. The study is changed before each killed build (another output.timestamp), so old
and new differ in every file.

After every kill the next build is started and killed right after its recovery step (``recovered``), which
must have removed every piece of debris; for a sample the next build runs to the end. Recovery itself is
killed too: the next run is started on the debris of a build killed right after its swap (the old output
still being removed) and killed while removing it, or while rolling back an interrupted two-rename swap.
"""

from __future__ import annotations

import re
import shutil
import signal
import time

import pytest
from cases import leftovers
from harness import BUILD, REPO, run, run_forked, run_inprocess, start, tree_digest

NEW_TIMESTAMP = "2026-06-01T12:00:00"
NO_EXCHANGE = {"SDTMIFY_TEST_NO_EXCHANGE": "1"}  # the two-rename swap of systems without renameat2
DEBRIS = re.compile(r"^\.NCI84\.((old-)?[0-9a-f]{8}\.tmp|lock)$")


def _change_study(root):
    study_yaml = root / "mappings" / "NCI84" / "study.yaml"
    text = study_yaml.read_text()
    study_yaml.write_text(text.replace('timestamp: "2026-01-01T00:00:00"', f'timestamp: "{NEW_TIMESTAMP}"', 1))


def _prepare(project, start_state):
    if start_state == "none":
        shutil.rmtree(project.output)
    elif start_state == "foreign":
        shutil.rmtree(project.output)
        project.output.mkdir()
        (project.output / "thesis.docx").write_text("months of work")
    _change_study(project.root)


@pytest.fixture(scope="session")
def new_output(project_template, tmp_path_factory) -> dict[str, str]:
    """What a build of the changed study writes (the 'complete new' state)."""
    root = tmp_path_factory.mktemp("hostile-new") / "project"
    shutil.copytree(project_template, root, symlinks=True)
    _change_study(root)
    assert run_inprocess(BUILD, cwd=root).code == 0
    return tree_digest(root / "output" / "NCI84")


@pytest.fixture(scope="session")
def killed_in_swap(project_template, tmp_path_factory) -> dict[str, tuple]:
    """Two builds killed in their swap, once each for the session: right after the atomic exchange (the old
    output now in .NCI84.<hex>.tmp, still to be removed), and between the two renames of the fallback swap.
    name -> (project root as the kill left it, the output folder's digest before the build)."""
    states = {}
    for name, point, env in (("after-exchange", "after-swap", {}), ("between-renames", "between-renames", NO_EXCHANGE)):
        root = tmp_path_factory.mktemp(f"killed-{name}") / "project"
        shutil.copytree(project_template, root, symlinks=True)
        old = tree_digest(root / "output" / "NCI84")
        _change_study(root)
        killed = run_forked(BUILD, root, {"SDTMIFY_TEST_KILL_AT": point, **env})
        assert killed.code == -signal.SIGKILL, killed.text
        states[name] = (root, old)
    return states


def _assert_old_or_new(project, old, new, start_state):
    """The output is exactly the old one or exactly the new one; nothing else in output/ but debris."""
    now = tree_digest(project.output)
    if start_state == "foreign":
        kept = [p for p in (project.root / "output").iterdir() if p.name.startswith("NCI84.kept-")]
        user = kept[0] if kept else project.output
        assert (user / "thesis.docx").read_text() == "months of work"
        assert now in ({}, new) if kept else now == old
    else:
        assert now in (old, new), "the output is neither the complete old nor the complete new one"
        if now:
            project.assert_complete_output()
    others = [
        p.name
        for p in (project.root / "output").iterdir()
        if p.name != "NCI84" and not DEBRIS.match(p.name) and not p.name.startswith("NCI84.kept-")
    ]
    assert others == []
    return now


def _next_build_recovers(project, state, old, new, env=None, full=False):
    """The next build, killed right after recovering: every piece of debris is gone (but the lock file the
    killed process held, which the next build reuses); with ``full`` it then runs to the end."""
    recovering = run_forked(BUILD, project.root, {"SDTMIFY_TEST_KILL_AT": "recovered", **(env or {})})
    assert recovering.code == -signal.SIGKILL, recovering.text
    assert leftovers(project.root / "output") == [".NCI84.lock"]
    assert tree_digest(project.output) in ((state,) if state else ({}, old, new))
    if full:
        run_inprocess(BUILD, cwd=project.root).expect(0)
        assert tree_digest(project.output) == new
        assert leftovers(project.root / "output") == []


# (id, checkpoint, environment, starting state): 'previous' = the fixture's output; 'none' = a first build;
# 'foreign' = a folder sdtmify did not write, built over with --force.
POINTS = [
    ("lock-taken", "locked", {}, "previous"),
    ("recovery-done", "recovered", {}, "previous"),
    ("staging-folder-created", "staging-created", {}, "previous"),
    ("staging-marker-being-written", "write-1", {}, "previous"),
    ("staging-folder-marked", "staging-marked", {}, "previous"),
    # write-N counts each process's own writes, so these run in one process (--jobs 1): the 20th file is an SDTM
    # one, the manifest the 64th; a two-lane build writes SDTM's files in its second lane, whose 20th write
    # would come first (a killed second lane: tests/test_lanes.py)
    ("file-write-20", "write-20", {"SDTMIFY_JOBS": "1"}, "previous"),
    ("manifest-being-written", "write-64", {"SDTMIFY_JOBS": "1"}, "previous"),
    ("before-swap", "before-swap", {}, "previous"),
    ("removing-old-file-30", "remove-30", {}, "previous"),
    ("old-removed", "old-removed", {}, "previous"),
    ("before-unlock", "done", {}, "previous"),
    ("first-build-after-rename", "after-swap", {}, "none"),
    ("force-after-moving-foreign-aside", "moved-aside", {}, "foreign"),
]
FULL_NEXT_BUILD = {"manifest-being-written"}


@pytest.mark.parametrize(("point", "env", "start_state"), [p[1:] for p in POINTS], ids=[p[0] for p in POINTS])
def test_kill_leaves_old_or_new_and_the_next_build_recovers(point, env, start_state, project, new_output):
    _prepare(project, start_state)
    old = tree_digest(project.output) if project.output.exists() else {}
    before = project.snapshot()
    killed = run_forked([*BUILD, "--force"], project.root, {"SDTMIFY_TEST_KILL_AT": point, **env})
    assert killed.code == -signal.SIGKILL, f"{point} was never reached:\n{killed.text}"
    state = _assert_old_or_new(project, old, new_output, start_state)
    project.assert_outside_unchanged(before, output="output")
    _next_build_recovers(project, state, old, new_output, env, full=point in FULL_NEXT_BUILD)
    project.assert_outside_unchanged(before, output="output")


def _adopt(project, killed_in_swap, name):
    """Put the output/ folder a killed build left (session fixture) into this test's project."""
    root, old = killed_in_swap[name]
    shutil.rmtree(project.root / "output")
    shutil.copytree(root / "output", project.root / "output", symlinks=True)
    _change_study(project.root)
    return old


def test_kill_right_after_the_atomic_exchange(project, killed_in_swap, new_output):
    old = _adopt(project, killed_in_swap, "after-exchange")
    assert tree_digest(project.output) == new_output
    project.assert_complete_output()
    _next_build_recovers(project, new_output, old, new_output, full=True)


def test_kill_between_the_two_renames_of_the_fallback_swap(project, killed_in_swap, new_output):
    """Without an atomic exchange (not Linux) the one instant with no output at its name: the old output is
    complete under its aside name, and the next run puts it back before anything else."""
    old = _adopt(project, killed_in_swap, "between-renames")
    aside = [p for p in (project.root / "output").iterdir() if p.name.startswith(".NCI84.old-")]
    assert not project.output.exists() and len(aside) == 1 and tree_digest(aside[0]) == old
    _next_build_recovers(project, old, old, new_output, NO_EXCHANGE)


# Recovery killed: (id, state left by the first kill, where the recovering run is killed, output expected)
RECOVERY_POINTS = [
    ("recovery-removing-first-old-file", "after-exchange", "remove-1", "new"),
    ("recovery-removing-old-file-30", "after-exchange", "remove-30", "new"),
    ("recovery-removing-old-file-10", "after-exchange", "remove-10", "new"),
    ("recovery-removing-last-old-file", "after-exchange", "remove-63", "new"),
    ("recovery-right-after-rollback", "between-renames", "restored", "old"),
    ("recovery-removing-staged-file-5-after-rollback", "between-renames", "remove-5", "old"),
]


@pytest.mark.parametrize(
    ("state", "point", "expected"), [p[1:] for p in RECOVERY_POINTS], ids=[p[0] for p in RECOVERY_POINTS]
)
def test_kill_during_recovery_is_recovered_by_the_run_after(
    state, point, expected, project, killed_in_swap, new_output
):
    old = _adopt(project, killed_in_swap, state)
    env = NO_EXCHANGE if state == "between-renames" else {}
    killed = run_forked(BUILD, project.root, {"SDTMIFY_TEST_KILL_AT": point, **env})
    assert killed.code == -signal.SIGKILL, f"{point} was never reached:\n{killed.text}"
    wanted = new_output if expected == "new" else old
    assert tree_digest(project.output) == wanted
    project.assert_complete_output()
    _next_build_recovers(project, wanted, old, new_output, env)


def test_kill_hook_in_the_installed_console_script(project):
    _prepare(project, "previous")
    old = tree_digest(project.output)
    killed = run(BUILD, project.root, {"SDTMIFY_TEST_KILL_AT": "write-20", "SDTMIFY_JOBS": "1"})
    assert killed.code == -signal.SIGKILL
    assert tree_digest(project.output) == old


def _wait_for_staging(project, process, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(
            p.name.endswith(".tmp") and (p / ".sdtmify-output.json").exists()
            for p in (project.root / "output").iterdir()
        ):
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the build never created its staging folder")


@pytest.mark.parametrize(
    ("signum", "code", "message"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_interrupt_and_terminate_unwind_and_leave_the_old_output(signum, code, message, project):
    _prepare(project, "previous")
    old = tree_digest(project.output)
    process = start(BUILD, project.root, {"SDTMIFY_TEST_SLEEP_AT": "staging-marked:60"})
    _wait_for_staging(project, process)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert f"error: {message}" in stderr and "Traceback" not in stderr
    assert tree_digest(project.output) == old
    assert leftovers(project.root / "output") == []  # staging removed on the way out, lock released


REPORT_DEBRIS = re.compile(r"^\.report\.[a-z0-9_]{8}\.tmp$")  # atomic_dir's staging of output/NCI84/report


@pytest.fixture
def report_project(project):
    """The project with NCI84's report.yaml and published.yaml, and ADaM shaped to reproduce the paper in the
    build's output (its manifest rewritten, as if the build had written it): `sdtmify report` runs there."""
    import sys

    import yaml

    sys.path.insert(0, str(REPO / "tests"))
    from test_report_support import paper_shaped_adam

    from sdtmify.guard import write_manifest

    for name in ("report.yaml", "published.yaml"):
        shutil.copy2(REPO / "mappings" / "NCI84" / name, project.study / name)
    published = yaml.safe_load((project.study / "published.yaml").read_text(encoding="utf-8"))
    paper_shaped_adam(published, project.output / "adam")
    write_manifest(project.output, "NCI84")
    return project


@pytest.mark.slow
@pytest.mark.parametrize("point", ["report-1", "report-4", "dir-filled"])
def test_report_killed_mid_write_leaves_debris_the_next_run_cleans(point, report_project):
    """`sdtmify report` SIGKILLed while it writes output/NCI84/report (a file into its staging folder, or the
    folder filled but not yet swapped in) leaves .report.<8>.tmp inside the output folder: the next build,
    under its lock, recognises sdtmify's own staging name and removes it instead of refusing it as a file
    added by hand; the user's files that merely look similar are still refused and kept."""
    project = report_project
    killed = run_forked(["-q", "report", "--study", "NCI84"], project.root, {"SDTMIFY_TEST_KILL_AT": point})
    assert killed.code == -signal.SIGKILL, f"{point} was never reached:\n{killed.text}"
    debris = [p.name for p in project.output.iterdir() if REPORT_DEBRIS.match(p.name)]
    assert len(debris) == 1, sorted(p.name for p in project.output.iterdir())
    assert not (project.output / "report").exists()  # never swapped in: no partial report
    before = project.snapshot()
    if point == "dir-filled":  # the report itself recovers too, then writes the complete report
        again = run_forked(["-q", "report", "--study", "NCI84"], project.root)
        assert again.code == 0, again.text
        assert (project.output / "report" / "report.html").is_file()
    run_forked(BUILD, project.root).expect(0)
    assert [p.name for p in project.output.iterdir() if p.name.endswith(".tmp")] == []
    project.assert_complete_output()
    project.assert_outside_unchanged(before, output="output")
    assert leftovers(project.root / "output") == []


def test_names_that_only_resemble_report_staging_are_the_users(project):
    """Only sdtmify's exact staging pattern is debris: a user's .report.tmp or .report.backup.tmp in the
    output folder is a file added by hand, so the build refuses and leaves it."""
    (project.output / ".report.tmp").write_text("mine")
    (project.output / ".report.backup.tmp").mkdir()
    (project.output / ".report.backup.tmp" / "notes.txt").write_text("also mine")
    run_inprocess(BUILD, project.root).expect(2, "2 file(s) added since sdtmify wrote it")
    assert (project.output / ".report.tmp").read_text() == "mine"
    assert (project.output / ".report.backup.tmp" / "notes.txt").read_text() == "also mine"
