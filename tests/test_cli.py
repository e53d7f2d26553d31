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
