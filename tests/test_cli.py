"""The command line's conventions: help for every command, exit codes, messages to stderr."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sdtmify.cli import build_parser, main

COMMANDS = ["build", "check", "init", "validate", "convert", "report"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"sdtmify {command}" in out
    assert "--quiet" in out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "usage: sdtmify" in capsys.readouterr().err


def test_unknown_option_exits_2():
    with pytest.raises(SystemExit) as exit_info:
        main(["build", "--study", "NCI84", "--no-such-option"])
    assert exit_info.value.code == 2


def test_console_script_is_installed():
    done = subprocess.run([sys.executable, "-m", "sdtmify.cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.startswith("sdtmify ")


def test_unknown_study_is_an_input_error_on_stderr(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SDTMIFY_HOME", str(tmp_path))
    (tmp_path / "mappings").mkdir()
    (tmp_path / "specs").mkdir()
    code = main(["build", "--study", "NOSUCH"])
    captured = capsys.readouterr()
    assert code == 2
    assert "NOSUCH" in captured.err
    assert captured.out == ""


@pytest.mark.parametrize("argv", [["-q", "init", "--study", "X", "--help"], ["init", "-q", "--study", "X", "--help"]])
def test_quiet_is_accepted_before_and_after_the_command(argv):
    parsed = None
    try:
        parsed = build_parser().parse_args([a for a in argv if a != "--help"])
    except SystemExit:  # pragma: no cover - parse errors fail the assertion below
        pass
    assert parsed is not None and getattr(parsed, "quiet", False) is True


def test_quiet_build_prints_only_the_result(tmp_path, capsys):
    code = main(["-q", "build", "--study", "NCI84", "--out", str(tmp_path / "NCI84"), "--no-validate", "--no-report"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err == ""
    assert captured.out.startswith("sdtmify build NCI84 -> ")
