"""report.yaml is checked against specs/schema/report.schema.json; errors name file:line key.path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sdtmify.report.paper import datasets_used, referenced_names
from sdtmify.studyspec.report import ReportSpecError, load_report_spec, load_yaml

ROOT = Path(__file__).resolve().parents[1]

MINIMAL = """\
title: T
subject: USUBJID
population: {dataset: ADSL}
tables:
  t1:
    kind: listing
    title: Listing
    key: SUBJID
    columns:
      - {label: Patient, variable: SUBJID}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "report.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_nci84_report_yaml_is_valid():
    document = load_report_spec(ROOT / "mappings" / "NCI84" / "report.yaml")
    assert datasets_used(document.data) == ["ADSL", "ADLB", "ADTTE", "ADAE"]
    assert {"USUBJID", "PARAMCD", "AVAL", "ATOXGRN", "HER2IHC"} <= referenced_names(document.data)


def test_minimal_report_is_valid(tmp_path):
    assert load_report_spec(write(tmp_path, MINIMAL)).data["tables"]["t1"]["key"] == "SUBJID"


def test_unknown_key_is_refused_with_its_line(tmp_path):
    text = MINIMAL.replace("    key: SUBJID\n", "    key: SUBJID\n    sort: [SUBJID]\n")
    with pytest.raises(ReportSpecError) as caught:
        load_report_spec(write(tmp_path, text))
    assert "report.yaml:9 tables.t1: unknown key 'sort' (did you mean 'sort_by'?)" in str(caught.value)


def test_unknown_key_without_a_near_name_lists_the_allowed_keys(tmp_path):
    text = MINIMAL.replace("    key: SUBJID\n", "    key: SUBJID\n    zzz: 1\n")
    with pytest.raises(ReportSpecError) as caught:
        load_report_spec(write(tmp_path, text))
    assert "report.yaml:9 tables.t1: unknown key 'zzz' (allowed: " in str(caught.value)
    assert "sort_by" in str(caught.value)


def test_unknown_table_kind_is_refused(tmp_path):
    with pytest.raises(ReportSpecError) as caught:
        load_report_spec(write(tmp_path, MINIMAL.replace("kind: listing", "kind: crosstable")))
    assert "report.yaml:6 tables.t1.kind" in str(caught.value)


def test_fisher_test_needs_a_two_by_two_table(tmp_path):
    text = (
        MINIMAL
        + """\
statistics:
  f:
    kind: fisher_exact
    rows: [Y, N, U]
    columns: [Y, N]
"""
    )
    with pytest.raises(ReportSpecError) as caught:
        load_report_spec(write(tmp_path, text))
    assert "statistics.f.rows" in str(caught.value) and "too long" in str(caught.value)


def test_variable_names_must_be_sas_names(tmp_path):
    with pytest.raises(ReportSpecError) as caught:
        load_report_spec(write(tmp_path, MINIMAL.replace("variable: SUBJID}", "variable: subject_id}")))
    assert "report.yaml:10 tables.t1.columns[0].variable" in str(caught.value)


def test_broken_yaml_names_its_line(tmp_path):
    with pytest.raises(ReportSpecError) as caught:
        load_report_spec(write(tmp_path, MINIMAL + "statistics: [\n"))
    assert "report.yaml:" in str(caught.value) and "not valid YAML" in str(caught.value)


def test_yes_no_and_on_stay_text_in_report_yaml(tmp_path):
    text = MINIMAL.replace("variable: SUBJID}", "variable: SUBJID, map: {Yes: 1, No: 2, on: 3}}")
    column = load_report_spec(write(tmp_path, text)).data["tables"]["t1"]["columns"][0]
    assert column["map"] == {"Yes": 1, "No": 2, "on": 3}


def test_yes_no_and_on_stay_text_in_published_values(tmp_path):
    path = tmp_path / "published.yaml"
    path.write_text("table2:\n  prior: {Yes: 4, No: 17}\n  on: study\n  seen: 2004-03-02\n", encoding="utf-8")
    data = load_yaml(path).data
    assert data["table2"] == {"prior": {"Yes": 4, "No": 17}, "on": "study", "seen": "2004-03-02"}


def test_the_study_yaml_files_load_to_the_values_plain_yaml_gives():
    """The switch to the project's loader changed no value of the NCI84 report files (neither holds an
    unquoted Yes/No/On/Off or a date that YAML 1.1 would have read differently)."""
    study = ROOT / "mappings" / "NCI84"
    report = load_report_spec(study / "report.yaml").data
    published = load_yaml(study / "published.yaml").data
    assert report == yaml.safe_load((study / "report.yaml").read_text(encoding="utf-8"))
    assert published == yaml.safe_load((study / "published.yaml").read_text(encoding="utf-8"))
    # "y" and "n" are booleans in the YAML 1.1 spec; both loaders keep them as keys
    assert report["figures"]["ifng_over_time"]["y"] == "AVAL"
    assert published["table2"]["n"] == 21
