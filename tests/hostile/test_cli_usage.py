"""Hostile command lines: wrong commands, options and values; every error one clear line with its exit code
(0 ok, 1 findings, 2 usage or input, 3 internal, 130 Ctrl-C), never a traceback unless --debug."""

from __future__ import annotations

import pytest
from cases import Case, play
from harness import run

import sdtmify.build

CASES = [
    Case("no-command", [], 2, "usage: sdtmify"),
    Case("unknown-command", ["bulid", "--study", "NCI84"], 2, "invalid choice: 'bulid'"),
    Case("build-without-study", ["build"], 2, "the following arguments are required: --study"),
    Case("unknown-option", ["build", "--study", "NCI84", "--outt", "x"], 2, "unrecognized arguments: --outt x"),
    Case("wait-not-a-number", ["build", "--study", "NCI84", "--wait", "soon"], 2, "'soon' is not a number of seconds"),
    Case("wait-negative", ["build", "--study", "NCI84", "--wait", "-5"], 2, "must be between 0 and 86400 seconds"),
    Case("wait-not-a-number-nan", ["build", "--study", "NCI84", "--wait", "nan"], 2, "must be between 0 and 86400"),
    Case("quiet-and-verbose-together", ["build", "-q", "-v", "--study", "NCI84"], 2, "not allowed with argument"),
    Case("help-lists-exit-codes", ["--help"], 0, "3    internal error (a bug: rerun with --debug"),
    Case("build-help-explains-study-name-or-path", ["build", "--help"], 0, "a study NAME (mappings/NAME"),
    Case("version", ["--version"], 0, "sdtmify 0.1.0"),
    Case("check-unknown-study-is-usage-not-findings", ["check", "--study", "NOSUCH"], 2, "study 'NOSUCH' not found"),
    Case("check-study-path-escape", ["check", "--study", "../" * 30 + "etc"], 2, "has no study.yaml in /etc"),
    Case("report-unknown-study", ["report", "--study", "NOSUCH"], 2, "study 'NOSUCH' not found"),
    Case("validate-missing-folder", ["validate", "nowhere"], 2, "nowhere"),
    Case("convert-missing-input", ["convert", "nowhere.xpt", "out.csv"], 2, "nowhere.xpt"),
    Case(
        "spec-import-study-path-escape",
        ["spec", "import", "spec.xlsx", "--study", "../../x"],
        2,
        "study name '../../x' is not a plain folder name",
    ),
    Case("init-without-study", ["init"], 2, "the following arguments are required: --study"),
    Case(
        "spec-export-refuses-to-overwrite-a-file",
        ["spec", "export", "--study", "NCI84", "--out", "mappings/NCI84/study.yaml"],
        2,
        "spec export --out mappings/NCI84/study.yaml exists; pass --force to replace it",
    ),
    Case(
        "spec-export-to-a-folder",
        ["spec", "export", "--study", "NCI84", "--out", "mappings"],
        2,
        "spec export --out mappings is a folder",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_usage(case, project):
    play(case, project)


def _explode(*args, **kwargs):
    raise RuntimeError("a bug nobody foresaw")


@pytest.mark.parametrize(
    ("error", "code", "fragment"),
    [
        (
            RuntimeError("a bug nobody foresaw"),
            3,
            "error: internal error: RuntimeError: a bug nobody foresaw; rerun with --debug",
        ),
        (KeyboardInterrupt(), 130, "error: interrupted; the previous output was left as it was"),
        (
            PermissionError(13, "Permission denied", "/data/locked.csv"),
            2,
            "error: Permission denied: /data/locked.csv (check the permissions of that path)",
        ),
        (OSError(28, "No space left on device", "/full/disk"), 2, "the disk is full; the previous output was left"),
    ],
    ids=["unexpected-exception-is-internal-error-3", "ctrl-c-is-130", "permission-error-names-the-path", "disk-full"],
)
def test_escaping_errors_become_one_line(error, code, fragment, project, monkeypatch):
    """The handler in cli.main, fed each kind of exception from inside a build (the one place a stand-in
    is used: a real bug cannot be produced on purpose)."""

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(sdtmify.build, "build_study", fail)
    play(Case("escaping", ["build", "--study", "NCI84"], code, fragment), project)


def test_debug_shows_the_traceback(project, monkeypatch):
    monkeypatch.setattr(sdtmify.build, "build_study", _explode)
    from harness import run_inprocess

    outcome = run_inprocess(["--debug", "build", "--study", "NCI84"], project.root)
    assert outcome.code == 3
    assert "Traceback (most recent call last)" in outcome.stderr and "in _explode" in outcome.stderr
    assert outcome.stderr.rstrip().endswith("rerun with --debug for the traceback")


def test_console_script_usage_error_in_a_real_process(project):
    run(["build", "--study", "NCI84", "--wait", "soon"], project.root).expect(2, "'soon' is not a number of seconds")
