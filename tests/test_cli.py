"""The command line's conventions: help for every command, exit codes, messages to stderr; and the
installed `sdtmify` console script run as a real process (build, validate)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyreadstat
import pytest

from sdtmify import __version__
from sdtmify.cli import build_parser, main
from sdtmify.validate.rules import load_rules

ROOT = Path(__file__).resolve().parents[1]
# The console script pip installed (`sdtmify = "sdtmify.cli:main"`): beside this interpreter, else on PATH.
SDTMIFY = shutil.which("sdtmify", path=str(Path(sys.executable).parent)) or shutil.which("sdtmify") or "sdtmify"

COMMANDS = ["build", "adam", "check", "init", "validate", "convert", "report"]


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


def sdtmify(*args: str, cwd: Path, home: Path | None = None) -> subprocess.CompletedProcess:
    """The installed script, run from ``cwd`` (outside the checkout), with SDTMIFY_HOME set to ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in ("SDTMIFY_HOME", "SOURCE_DATE_EPOCH")}
    if home is not None:
        env["SDTMIFY_HOME"] = str(home)
    return subprocess.run([str(SDTMIFY), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_console_script_is_installed(tmp_path):
    done = sdtmify("--version", cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"sdtmify {__version__}\n", "")


@pytest.mark.slow
def test_console_script_builds_a_study_and_says_what_it_wrote(mini_home, tmp_path):
    """`sdtmify build` as a user runs it: the 3-patient NCI84 (SDTM YAML only, no ADaM, no notes)."""
    out = tmp_path / "out" / "NCI84"
    done = sdtmify("build", "--study", "NCI84", "--out", str(out), cwd=tmp_path, home=mini_home)
    assert done.returncode == 0, done.stderr
    # results on stdout: the findings table and totals, then what was written where
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["rule", "severity", "dataset", "count", "message"]
    assert f"validation: 0 errors, 7 warnings, 4 notices; {len(load_rules())} rules:" in done.stdout
    assert "validation:" not in done.stderr and "rule " not in done.stderr
    assert lines[lines.index(f"sdtmify build NCI84 -> {out}") :] == [
        f"sdtmify build NCI84 -> {out}",
        "  SDTM          74 files in sdtm/ (2 html, 23 json, 1 md, 23 ndjson, 1 xml, 23 xpt, 1 xsl)",
        "  metadata       1 files in metadata/ (1 json)",
        "  lineage       23 files in lineage/ (23 csv)",
        "  validation     2 files in validation/ (1 json, 1 xlsx)",
        "  readme         1 files in README.md (1 md)",
        "  conformance errors: 0, warnings: 7, notices: 4 (7 not explained by validation-notes.yaml): "
        "validation/validation.xlsx",
    ]
    progress = [line.split(" (")[0] for line in done.stderr.splitlines() if line.startswith("[")]
    assert progress == [
        "[1/6] mapping sources to SDTM",
        "[2/6] deriving ADaM",
        "[3/6] writing XPT, Dataset-JSON and lineage",
        "[4/6] writing define.xml",
        "[5/6] validating",
        "[6/6] recomputing the published tables",
    ]
    domains = (
        "ae",
        "cm",
        "cv",
        "dm",
        "ds",
        "dv",
        "ex",
        "ie",
        "lb",
        "mh",
        "mi",
        "rs",
        "se",
        "suppae",
        "suppdm",
        "sv",
        "ta",
        "te",
        "ti",
        "tr",
        "ts",
        "tu",
        "tv",
    )
    assert {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} == {
        *(f"sdtm/{d}.xpt" for d in domains),
        *(f"sdtm/dataset-json/{d}.{kind}" for d in domains for kind in ("json", "ndjson")),
        *(f"lineage/{d}.csv" for d in domains),
        ".sdtmify-output.json",
        "README.md",
        "sdtm/csdrg.md",
        "sdtm/csdrg.html",
        "sdtm/define2-1.xsl",
        "sdtm/define.xml",
        "sdtm/define.html",
        "metadata/sdtm.json",
        "validation/validation.json",
        "validation/validation.xlsx",
    }
    dm, meta = pyreadstat.read_xport(str(out / "sdtm" / "dm.xpt"))
    assert dm["USUBJID"].tolist() == ["NCI84-001-A", "NCI84-001-B", "NCI84-001-E"]
    assert meta.table_name == "DM"
    report = json.loads((out / "validation" / "validation.json").read_text())
    assert report["summary"]["errors"] == 0 and report["summary"]["warnings"] == 7


@pytest.mark.slow
def test_console_script_validates_the_nci84_build_as_the_build_did(nci84_output, tmp_path):
    """`sdtmify validate` on the session's NCI84 output folder, with the study's notes, its CTCAE grade
    dictionary and --fail-on warning:
    the build's own validation summary, every warning explained yet still failing the run (notes explain,
    they do not silence), reports where --report-dir says."""
    folder, _ = nci84_output
    notes = ROOT / "mappings" / "NCI84" / "validation-notes.yaml"
    reports = tmp_path / "reports"
    done = sdtmify(
        "validate",
        str(folder),
        "--notes",
        str(notes),
        "--dictionary",
        f"ctcae={ROOT / 'mappings' / 'NCI84' / 'dictionaries' / 'ctcae.csv'}",
        "--fail-on",
        "warning",
        "--report-dir",
        str(reports),
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    # results on stdout: the findings table, the totals, the reports written; stderr has no finding
    assert done.stdout.splitlines()[-2:] == [str(reports / "validation.json"), str(reports / "validation.xlsx")]
    assert "SD1226" not in done.stderr and "validation:" not in done.stderr
    built = json.loads((folder / "validation" / "validation.json").read_text())["summary"]
    assert (built["errors"], built["warnings"], built["rules"]) == (0, 53, len(load_rules()))
    stdout = done.stdout.splitlines()
    assert (
        f"validation: 0 errors, 53 warnings, 0 notices; {built['rules']} rules: 3 with findings, "
        f"{built['rules_passed']} passed, {built['rules_skipped']} skipped"
    ) in stdout
    assert "notes: 53 findings explained in validation-notes.yaml, 0 errors and warnings unexplained" in stdout
    assert sum(line.strip().startswith("explained: ") for line in stdout) == 4  # SD1226 (CM and RS), SD1244, SD1841
    report = json.loads((reports / "validation.json").read_text())
    assert report["summary"] == built
    assert (report["notes"]["explained"], report["notes"]["unexplained"]) == (53, 0)
    assert sorted(p.name for p in reports.iterdir()) == [
        ".sdtmify-validation.json",
        "validation.json",
        "validation.xlsx",
    ]


@pytest.mark.parametrize("argv", [["-q", "init", "--study", "X", "--help"], ["init", "-q", "--study", "X", "--help"]])
def test_quiet_is_accepted_before_and_after_the_command(argv):
    parsed = None
    try:
        parsed = build_parser().parse_args([a for a in argv if a != "--help"])
    except SystemExit:  # pragma: no cover - parse errors fail the assertion below
        pass
    assert parsed is not None and getattr(parsed, "quiet", False) is True


def test_quiet_build_prints_only_the_result(mini_home, tmp_path, capsys):
    code = main(["-q", "build", "--study", "NCI84", "--out", str(tmp_path / "NCI84"), "--no-validate", "--no-report"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err == ""
    assert captured.out.startswith("sdtmify build NCI84 -> ")
