"""report.yaml is checked against specs/schema/report.schema.json; errors name file:line key.path."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdtmify.report.paper import datasets_used, referenced_names
from sdtmify.report.spec import ReportSpecError, load_report_spec

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
    assert "report.yaml:9 tables.t1.sort: unknown key 'sort'; allowed here:" in str(caught.value)
    assert "sort_by" in str(caught.value)


def test_unknown_table_kind_is_refused(tmp_path):
    with pytest.raises(ReportSpecError) as caught:
        load_report_spec(write(tmp_path, MINIMAL.replace("kind: listing", "kind: crosstable")))
    assert "report.yaml:6 tables.t1.kind" in str(caught.value)


def test_fisher_test_needs_a_two_by_two_table(tmp_path):
    text = MINIMAL + """\
statistics:
  f:
    kind: fisher_exact
    rows: [Y, N, U]
    columns: [Y, N]
"""
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
