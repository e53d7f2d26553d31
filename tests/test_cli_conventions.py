"""The command line's conventions, command by command: results on stdout and diagnostics on stderr, the
same exit code for the same situation (0 clean, 1 findings, 2 usage or input error), -q/-v, whole
messages, colour and progress only on a terminal (never with NO_COLOR, TERM=dumb or in a pipe), and a
fast --help."""

from __future__ import annotations

import io
import os
import pty
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sdtmify.cli import main
from sdtmify.console import Console

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SD1226 = (
    "EPOCH should be populated on every clinical subject-level observation (Events, Interventions, "
    "Findings records); a record with EPOCH null is flagged."
)


def sdtmify() -> str:
    return str(Path(sys.executable).parent / "sdtmify")


def run(args, env=None, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sdtmify(), *args], capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=300
    )


def run_in_terminal(args, env=None, cwd=ROOT) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal, as a user at a terminal sees it."""
    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    environment.update({"TERM": "xterm-256color", "COLUMNS": "100", **(env or {})})
    process = subprocess.Popen([sdtmify(), *args], stdout=follower, stderr=follower, cwd=cwd, env=environment)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


# --- validate: the findings are results ----------------------------------------------------------


def test_validate_prints_findings_on_stdout_and_whole(nci84_output):
    folder, _ = nci84_output
    done = run(["validate", str(folder / "sdtm")])
    assert done.returncode == 0  # warnings only; the default --fail-on is error
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["rule", "severity", "dataset", "count", "message"]
    row = next(line for line in lines if line.startswith("SD1226"))
    assert row.split()[:4] == ["SD1226", "warning", "CM", "21"]
    assert row.endswith(SD1226)  # 156 characters on one line, never cut at 80
    assert any(line.startswith("validation: 0 errors, 53 warnings") for line in lines)
    assert "SD1226" not in done.stderr and "validation:" not in done.stderr
    assert not ANSI.search(done.stdout + done.stderr)


@pytest.mark.parametrize(("fail_on", "code"), [("error", 0), ("warning", 1), ("never", 0)])
def test_validate_exit_code_follows_fail_on(nci84_output, fail_on, code, capsys):
    folder, _ = nci84_output
    assert main(["-q", "validate", str(folder / "sdtm"), "--fail-on", fail_on]) == code
    captured = capsys.readouterr()
    assert "SD1226" in captured.out and captured.err == ""


# `sdtmify build --fail-on warning` (exit 1, the table on stdout before what was written, stderr empty) is
# checked on the console-script build of tests/test_build.py, which builds NCI84 anyway.


# --- the same situation, the same code, on every command -----------------------------------------

UNKNOWN_STUDY = [
    ["build", "--study", "NOSUCH"],
    ["check", "--study", "NOSUCH"],
    ["report", "--study", "NOSUCH"],
    ["spec", "import", "x.xlsx", "--study", "NOSUCH"],
]
MISSING_INPUT = [["validate", "nowhere"], ["convert", "nowhere.xpt", "x.csv"]]
BAD_OPTION = [
    ["build", "--study", "NCI84", "--fail-on", "often"],
    ["validate", "x", "--fail-on", "often"],
    ["check", "--study", "NCI84", "--bogus"],
    ["init", "NEW", "--bogus"],
    ["convert", "a.xpt", "b.csv", "--bogus"],
    ["report", "--study", "NCI84", "--bogus"],
    ["spec", "export", "--study", "NCI84"],
]


@pytest.mark.parametrize("argv", UNKNOWN_STUDY, ids=lambda a: a[0] + ("-" + a[1] if a[0] == "spec" else ""))
def test_an_unknown_study_is_2_on_every_command(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "NOSUCH" in captured.err and captured.out == ""


@pytest.mark.parametrize("argv", MISSING_INPUT, ids=lambda a: a[0])
def test_a_missing_input_is_2_on_every_command(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "nowhere" in captured.err and captured.out == ""


@pytest.mark.parametrize("argv", BAD_OPTION, ids=lambda a: a[0] + "-" + a[-1])
def test_a_bad_option_is_2_on_every_command(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: sdtmify" in capsys.readouterr().err


def test_exit_codes_are_documented_in_help_and_readme(capsys):
    readme = (ROOT / "README.md").read_text()
    for argv in (["--help"], ["build", "--help"], ["validate", "--help"], ["check", "--help"], ["convert", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        text = capsys.readouterr().out
        assert "exit codes (the same for every command):" in text, argv
        assert "1    findings: validation findings at or above --fail-on (build, validate)" in text
    assert "| 1 | findings:" in readme and "--fail-on" in readme


# --- -q, -v and the console --------------------------------------------------------------------


def test_console_steps_plain_normal_verbose_and_quiet():
    outputs = {}
    for verbosity in (0, 1, 2):
        err = io.StringIO()
        ui = Console(verbosity=verbosity, stream=err, out=io.StringIO())
        ui.step(1, 2, "mapping")
        ui.debug("  DM: 21 records")
        ui.step(2, 2, "writing")
        ui.finish()
        outputs[verbosity] = err.getvalue().splitlines()
    assert outputs[0] == []
    assert outputs[1] == ["[1/2] mapping", "[2/2] writing"]
    assert outputs[2][1:3] == ["  DM: 21 records", outputs[2][2]]
    assert re.fullmatch(r"\[1/2\] mapping \(at \d+\.\ds\)", outputs[2][0])
    assert re.fullmatch(r" +mapping: \d+\.\d\ds", outputs[2][2])
    assert re.fullmatch(r" +writing: \d+\.\d\ds", outputs[2][-1])


def test_plain_table_keeps_long_messages_whole():
    err, out = io.StringIO(), io.StringIO()
    Console(stream=err, out=out).table(("rule", "message"), [["SD1", "x" * 300]])
    assert out.getvalue().splitlines() == ["rule  message", "SD1   " + "x" * 300]


# --- a terminal gets colour and progress; NO_COLOR, TERM=dumb and pipes do not -------------------


def test_terminal_output_is_coloured_and_wrapped(nci84_output):
    folder, _ = nci84_output
    code, text = run_in_terminal(["validate", str(folder / "sdtm")])
    assert code == 0
    assert "\x1b[33m" in text  # warnings in yellow
    plain = ANSI.sub("", text)
    assert max(len(line) for line in plain.splitlines()) <= 100  # wrapped to the terminal's 100 columns
    words = " ".join(plain.split())
    assert "flagged." in words and "EPOCH should be populated on every clinical" in words  # not cut


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "dumb"}], ids=["NO_COLOR", "TERM=dumb"])
def test_no_color_and_dumb_terminal_are_plain(nci84_output, env):
    folder, _ = nci84_output
    code, text = run_in_terminal(["validate", str(folder / "sdtm")], env)
    assert code == 0
    assert not ANSI.search(text)
    assert SD1226 in text.replace("\r", "")


def test_terminal_build_shows_a_progress_bar_per_stage(tmp_path):
    # two lanes (as on a user's two-core machine): the bar's redraw thread is paused for the fork
    code, text = run_in_terminal(
        ["build", "--study", "NCI84", "--out", str(tmp_path / "NCI84"), "--no-report", "--jobs", "2"]
    )
    assert code == 0, ANSI.sub("", text)
    plain = ANSI.sub("", text)
    for stage in ("mapping sources to SDTM", "deriving ADaM", "validating"):
        assert stage in plain
    assert re.search(r"✓ \[1/6\] mapping sources to SDTM  \d+\.\ds", plain)
    assert "━" in plain  # the bar


# --- startup ---------------------------------------------------------------------------------------


def test_help_is_fast_and_does_not_import_rich():
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sdtmify.cli", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert not any(name == "rich" or name.startswith("rich.") for name in imported)
    assert not any(name == "pandas" for name in imported)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sdtmify(), "--help"], capture_output=True, check=True)
        timings.append(time.perf_counter() - started)
    assert min(timings) < 0.3, timings


def test_rich_is_installed_as_a_dependency():
    assert shutil.which("sdtmify") or Path(sdtmify()).exists()
    import rich  # noqa: F401  (declared in pyproject.toml)
