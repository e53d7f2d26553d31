"""study.yaml ``stages:``: a study declares it has no ADaM or no report, and a build says so instead of
showing the steps as skipped; a declaration the folder contradicts is an error. Built as a user runs it:
the installed console script on EDC3 (tests/studies/EDC3, SDTM only), which also carries a Required
value declared unknown (COUNTRY of its screen failure) that the validator reports with the study's reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sdtmify.errors import InputError
from sdtmify.study import load_study

STUDY = Path(__file__).parent / "studies" / "EDC3"
SDTMIFY = shutil.which("sdtmify", path=str(Path(sys.executable).parent)) or "sdtmify"


def sdtmify(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SDTMIFY_HOME", "SOURCE_DATE_EPOCH")}
    return subprocess.run([SDTMIFY, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def edc3_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("stages")
    study = root / "EDC3"
    shutil.copytree(STUDY, study)
    out = root / "out"
    done = sdtmify("build", "--study", str(study), "--out", str(out), "-v", "--fail-on", "never", cwd=root)
    return study, out, done


@pytest.mark.slow
def test_undeclared_stages_are_said_to_be_so_not_skipped(edc3_build):
    _, out, done = edc3_build
    assert done.returncode == 0, done.stderr
    assert "[2/6] deriving ADaM (not declared by the study)" in done.stderr
    assert "[6/6] recomputing the published tables (not declared by the study)" in done.stderr
    assert "  adam        not declared by the study (study.yaml stages: adam: none)" in done.stdout.splitlines()
    assert "  report      not declared by the study (study.yaml stages: report: none)" in done.stdout.splitlines()
    assert not (out / "adam").exists() and not (out / "report").exists()


@pytest.mark.slow
def test_a_required_value_declared_unknown_is_reported_with_the_studys_reason(edc3_build):
    _, out, _ = edc3_build
    report = json.loads((out / "validation" / "validation.json").read_text())
    findings = [f for f in report["findings"] if f["rule"] == "SD1013"]
    assert [(f["dataset"], f["usubjid"], f["variables"]) for f in findings] == [("DM", "EDC3-01-702-1030", ["COUNTRY"])]
    issue = next(i for i in report["issues"] if (i["rule"], i["dataset"]) == ("SD1013", "DM"))
    assert issue["explanation"].endswith("dm.yaml): not recorded for screen failures at site 702")
    assert issue["explanation"].startswith("COUNTRY unknown (")
    define = (out / "sdtm" / "define.xml").read_text()
    assert "Unknown in 1 record: not recorded for screen failures at site 702" in define


def copy_with(tmp_path, stages: str, adam: bool = False, report: bool = False) -> Path:
    study = tmp_path / "EDC3"
    shutil.copytree(STUDY, study)
    path = study / "study.yaml"
    path.write_text(path.read_text().replace("stages: {adam: none, report: none}", stages))
    if adam:
        (study / "adam").mkdir()
        (study / "adam" / "adsl.yaml").write_text("dataset: ADSL\n")
    if report:
        (study / "report.yaml").write_text("tables: []\n")
    return study


def test_adam_declared_none_with_adam_files_is_an_error(tmp_path):
    study = copy_with(tmp_path, "stages: {adam: none, report: none}", adam=True)
    with pytest.raises(InputError) as info:
        load_study(study)
    assert str(info.value).endswith(
        "stages.adam: the study declares no adam stage but adam/ holds adsl.yaml; remove 'stages: adam: none' "
        "to build it, or move the files out of the study folder"
    )
    line = next(i for i, t in enumerate((study / "study.yaml").read_text().splitlines(), 1) if t.startswith("stages:"))
    assert f"study.yaml:{line} stages.adam: " in str(info.value)


def test_a_report_without_adam_must_be_declared_none_too(tmp_path):
    study = copy_with(tmp_path, "stages: {adam: none}", report=True)
    with pytest.raises(InputError) as info:
        load_study(study)
    assert "has a report.yaml, whose tables are computed from ADaM; declare 'report: none' too" in str(info.value)


def test_a_required_stage_without_its_files_is_an_error(tmp_path):
    study = copy_with(tmp_path, "stages: {adam: required, report: none}")
    with pytest.raises(InputError) as info:
        load_study(study)
    assert "stages.adam: 'adam: required' but there is no adam/*.yaml; write it, or declare 'adam: none'" in str(
        info.value
    )


def test_declared_stages_are_not_built(tmp_path):
    spec = load_study(copy_with(tmp_path, "stages: {adam: none, report: none}"))
    assert (spec.declares_none("adam"), spec.declares_none("report"), spec.has_adam, spec.has_report) == (
        True,
        True,
        False,
        False,
    )


def test_the_report_command_says_the_study_declares_no_report(tmp_path):
    study = copy_with(tmp_path, "stages: {adam: none, report: none}")
    done = sdtmify("report", "--study", str(study), cwd=tmp_path)
    assert done.returncode == 2
    assert "the study declares no report (stages: report: none); nothing to recompute" in done.stderr
