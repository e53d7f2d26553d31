"""A validator that cannot read all of its specs refuses to run: exit status 2 and one line naming the
file, never a pass on fewer rules, never a traceback.

The rule catalogue (specs/rules/catalogue.yaml) declares each rule file and its number of rules; the
shipped specs are swapped for a damaged copy by pointing :func:`sdtmify.resources.specs_dir` at it.
tests/test_wheel.py does the same to an installed wheel through the console script as a process."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from fixtures.validate import study  # tests/fixtures/validate/study.py: the clean study

from sdtmify import resources, yamlio
from sdtmify.cli import main
from sdtmify.errors import MetadataError
from sdtmify.metadata import standards
from sdtmify.validate.rules import load_rules

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
CATALOGUE = yaml.safe_load((SPECS / "rules" / "catalogue.yaml").read_text(encoding="utf-8"))["files"]


def _clear_caches() -> None:
    standards._sdtm_specs.cache_clear()
    standards._adam_specs.cache_clear()
    standards._class_variables.cache_clear()
    yamlio.load_schema.cache_clear()
    yamlio._registry.cache_clear()


@pytest.fixture
def specs_copy(tmp_path, monkeypatch):
    """A copy of the shipped specs that the loaders use instead of the real ones."""
    copy = tmp_path / "specs"
    shutil.copytree(SPECS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(resources, "specs_dir", lambda: copy)
    _clear_caches()
    yield copy
    _clear_caches()


@pytest.fixture(scope="module")
def sdtm_folder(tmp_path_factory) -> Path:
    """The clean fixture study as XPT files (sdtm/ and adam/)."""
    folder = tmp_path_factory.mktemp("clean")
    study.write_xpt(study.build_frames(), folder)
    return folder / "sdtm"


def _validate(folder: Path, capsys) -> tuple[int, list[str]]:
    code = main(["validate", str(folder), "-q"])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


def test_the_catalogue_declares_every_shipped_rule_file_and_its_count():
    rules = load_rules()
    assert len(rules) == sum(CATALOGUE.values()) == 363
    assert sorted(CATALOGUE) == sorted(p.name for p in (SPECS / "rules").glob("*.yaml") if p.name != "catalogue.yaml")


def test_a_deleted_rule_file_stops_validate_with_exit_2_and_one_line(specs_copy, sdtm_folder, capsys):
    (specs_copy / "rules" / "sdtm-dm.yaml").unlink()
    code, lines = _validate(sdtm_folder, capsys)
    assert code == 2
    assert lines == [
        f"error: {specs_copy / 'rules' / 'sdtm-dm.yaml'}: rule file missing (catalogue.yaml declares 34 rule(s) "
        "in it); the validator will not run with part of its catalogue; reinstall sdtmify"
    ]


def test_a_rule_cut_from_its_file_is_caught_by_the_declared_count(specs_copy, sdtm_folder, capsys):
    path = specs_copy / "rules" / "sdtm-timing.yaml"
    text = path.read_text(encoding="utf-8")
    # drop the last rule: the file still parses, and holds one rule fewer than declared
    cut = text[: text.rindex("\n  - ")] + "\n"
    path.write_text(cut, encoding="utf-8")
    code, lines = _validate(sdtm_folder, capsys)
    assert code == 2
    assert lines == [
        f"error: {path}: holds 43 rule(s) but catalogue.yaml declares 44; "
        "restore the file or correct its count in catalogue.yaml"
    ]


def test_a_rule_file_with_its_rules_key_misspelt_runs_no_rules_and_is_refused(specs_copy):
    path = specs_copy / "rules" / "define.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("rules:", "rule:", 1), encoding="utf-8")
    with pytest.raises(MetadataError, match=r"define.yaml: holds 0 rule\(s\) but catalogue.yaml declares 15"):
        load_rules()


def test_a_rule_file_not_in_the_catalogue_is_refused(specs_copy):
    shutil.copy(specs_copy / "rules" / "adam.yaml", specs_copy / "rules" / "zz-extra.yaml")
    with pytest.raises(MetadataError, match=r"zz-extra.yaml: rule file not declared in catalogue.yaml"):
        load_rules()


def test_a_missing_catalogue_stops_the_shipped_validator(specs_copy):
    (specs_copy / "rules" / "catalogue.yaml").unlink()
    with pytest.raises(MetadataError, match=r"catalogue.yaml: rule catalogue missing"):
        load_rules()


def test_a_catalogue_count_that_is_no_number_is_refused(specs_copy):
    path = specs_copy / "rules" / "catalogue.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("adam.yaml: 39", "adam.yaml: many"), encoding="utf-8")
    with pytest.raises(MetadataError, match=r"catalogue.yaml:\d+ adam.yaml: adam.yaml: a rule count is a positive"):
        load_rules()


def test_a_missing_ct_subset_stops_validate_with_exit_2(specs_copy, sdtm_folder, capsys):
    (specs_copy / "ct" / "subset.yaml").unlink()
    code, lines = _validate(sdtm_folder, capsys)
    assert code == 2
    assert lines == [f"error: {specs_copy / 'ct' / 'subset.yaml'}: spec file missing; {resources._REINSTALL}"]


def test_an_unreadable_ct_file_stops_validate_with_exit_2(specs_copy, sdtm_folder, capsys):
    path = specs_copy / "ct" / "sdtm-ct-2025-03-28.tsv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    code, lines = _validate(sdtm_folder, capsys)
    assert code == 2
    assert len(lines) == 1
    assert re.fullmatch(
        rf"error: {re.escape(str(path))}: (controlled terminology file cannot be read|not an NCI).*", lines[0]
    )


def test_missing_ig_metadata_stops_validate_with_exit_2(specs_copy, sdtm_folder, capsys):
    (specs_copy / "sdtmig-3.4" / "variables.csv").unlink()
    code, lines = _validate(sdtm_folder, capsys)
    assert code == 2
    assert lines == [f"error: {specs_copy / 'sdtmig-3.4' / 'variables.csv'}: spec file missing; {resources._REINSTALL}"]


def test_ig_metadata_without_a_column_is_refused_with_the_file(specs_copy):
    path = specs_copy / "adamig-1.3" / "variables.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",data_type,", ",datatype,", 1), encoding="utf-8")
    with pytest.raises(MetadataError, match=r"variables.csv:\d+: standards metadata file has no column data_type"):
        standards.adam_dataset("ADSL", "ADSL")


def test_a_broken_schema_stops_check_with_exit_2(specs_copy, capsys):
    (specs_copy / "schema" / "study.schema.json").write_text("{ not json", encoding="utf-8")
    code = main(["check", "--study", str(ROOT / "mappings" / "NCI84"), "-q"])
    lines = capsys.readouterr().err.splitlines()
    assert code == 2
    assert lines == [
        f"error: {specs_copy / 'schema' / 'study.schema.json'}:1: schema is not valid JSON (Expecting property name enclosed in double quotes)"
    ]


def test_the_package_data_missing_altogether_is_one_line(monkeypatch):
    monkeypatch.setattr(resources, "SPECS_PACKAGE", "sdtmify.no_such_specs")
    resources.specs_dir.cache_clear()
    try:
        with pytest.raises(MetadataError, match=r"^sdtmify's package data 'sdtmify.no_such_specs' is not installed"):
            resources.specs_dir()
    finally:
        monkeypatch.undo()
        resources.specs_dir.cache_clear()
