"""Validation notes (mappings/<STUDY>/validation-notes.yaml): the study's explanations appear beside the
findings they explain in the JSON, Excel and console reports; counts never change; a finding without a
note stays unexplained; a note for a rule that no longer fires is pointed out."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest
from fixtures.validate import study  # tests/fixtures/validate/study.py: the clean study and its mutations
from openpyxl import load_workbook

from sdtmify.console import Console
from sdtmify.errors import InputError
from sdtmify.validate.notes import load_notes
from sdtmify.validate.report_console import print_report
from sdtmify.validate.run import validate_build

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "validate"
SCHEMA = json.loads((ROOT / "specs" / "schema" / "validation-report.schema.json").read_text())


CLEAN = study.build_frames()


class StudyStub:
    name = "XYZ"
    timestamp = None

    def __init__(self, folder: Path):
        self.folder = folder


def test_both_shapes_are_read_and_a_dataset_note_wins_for_its_dataset(tmp_path):
    plain = tmp_path / "plain.yaml"
    plain.write_text("SD1226: >-\n  RS best response has no date,\n  hence no EPOCH.\nCT2018: sponsor test codes\n")
    notes = load_notes(plain)
    assert notes.explain("SD1226") == "RS best response has no date, hence no EPOCH."
    assert notes.explain("SD1226", "RS") == "RS best response has no date, hence no EPOCH."
    assert notes.explain("SD1413", "AE") == ""
    listed = tmp_path / "listed.yaml"
    listed.write_text(
        "notes:\n"
        "  - {rule: SD1226, explanation: every dataset}\n"
        "  - {rule: SD1226, dataset: rs, explanation: only RS}\n"
    )
    notes = load_notes(listed)
    assert notes.explain("SD1226", "RS") == "only RS"
    assert notes.explain("SD1226", "AE") == "every dataset"
    assert load_notes(tmp_path / "absent.yaml").notes == ()


@pytest.mark.parametrize(
    "text, problem",
    [
        ("notes:\n  - {rule: SD1226}\n", "note SD1226: give a rule id and a non-empty explanation"),
        ("notes:\n  - just text\n", "entry 1 is 'just text'"),
        ("- [a, b]\n", "entry 1 is"),
        ("just a sentence\n", "write the notes as 'RULEID: explanation' lines"),
        ("SD1226: [unclosed\n", "YAML syntax"),
    ],
)
def test_malformed_notes_are_input_errors_naming_the_file(tmp_path, text, problem):
    path = tmp_path / "validation-notes.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_notes(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


@pytest.mark.slow
def test_build_reports_show_explanations_beside_explained_findings_only(tmp_path, shared):
    ct_file = shared / "reference" / "ct" / "SDTM_Terminology_2025-03.txt.xz"
    out = tmp_path / "out"
    # two warnings (SD1226 EPOCH null in AE and in LB) and one error (SD1401 AESER not Y/N)
    frames = study.mutate(CLEAN, {"set": {"AE": {0: {"AESER": "X"}, 1: {"EPOCH": ""}}, "LB": {0: {"EPOCH": ""}}}})
    study.write_xpt(frames, out)
    study.write_define(CLEAN, out / "sdtm" / "define.xml", "SDTM", {"DM.SEX": ["F", "M"]})
    study.write_define(CLEAN, out / "adam" / "define.xml", "ADaM")
    folder = tmp_path / "mappings" / "XYZ"
    folder.mkdir(parents=True)
    (folder / "validation-notes.yaml").write_text(
        "notes:\n"
        "  - {rule: SD1226, dataset: AE, explanation: The AE record of day -3 predates the first epoch.}\n"
        "  - {rule: SD9999, explanation: a rule that does not fire}\n"
    )
    stdout = io.StringIO()
    ui = Console(stream=io.StringIO(), out=stdout)
    outcome = validate_build(out, StudyStub(folder), ct_file=str(ct_file), ui=ui)
    report = outcome.report
    jsonschema.validate(report, SCHEMA)
    issues = {(i["rule"], i["dataset"]): i for i in report["issues"]}
    assert issues[("SD1226", "AE")]["explanation"] == "The AE record of day -3 predates the first epoch."
    assert issues[("SD1226", "LB")]["explanation"] == ""  # the note names AE only
    assert issues[("SD1401", "AE")]["explanation"] == ""
    assert outcome.counts["warning"] == 2  # a note never changes a count
    assert report["notes"] == {
        "file": "validation-notes.yaml",
        "explained": 1,
        "unexplained": outcome.counts["error"] + 1,
        "unused": ["SD9999"],
    }
    assert report["inputs"]["notes"] == "validation-notes.yaml"
    assert stdout.getvalue() == ""  # the build prints the table itself, after its progress
    print_report(report, ui)
    console = stdout.getvalue().splitlines()
    at = next(i for i, line in enumerate(console) if "SD1226" in line and " AE " in line)
    assert console[at + 1].strip() == "explained: The AE record of day -3 predates the first epoch."
    lb = next(i for i, line in enumerate(console) if "SD1226" in line and " LB " in line)
    assert "explained" not in console[lb + 1]
    assert any(
        line.startswith("notes: 1 findings explained in validation-notes.yaml") and "SD9999" in line for line in console
    )
    book = load_workbook(out / "validation" / "validation.xlsx", read_only=True)
    rows = list(book["Issue Summary"].iter_rows(values_only=True))
    assert rows[0] == ("Rule ID", "CORE ID", "FDA/P21 ID", "Severity", "Dataset", "Found", "Message", "Explanation")
    explained = {(r[4], r[0]): r[7] for r in rows[1:]}
    assert explained[("AE", "SD1226")] == "The AE record of day -3 predates the first epoch."
    assert explained[("LB", "SD1226")] in (None, "")
    details = list(book["Details"].iter_rows(values_only=True))
    column = details[0].index("Explanation")
    by_dataset = {(r[0], r[4]): r[column] for r in details[1:]}
    assert by_dataset[("SD1226", "AE")] == "The AE record of day -3 predates the first epoch."
    assert by_dataset[("SD1226", "LB")] in (None, "")
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert summary["Validation notes"] == "validation-notes.yaml" and summary["Findings explained"] == 1


def test_nci84_notes_file_reads_and_names_rules_of_the_catalogue():
    from sdtmify.validate.rules import load_rules

    notes = load_notes(ROOT / "mappings" / "NCI84" / "validation-notes.yaml")
    assert notes.rules() == {"SD1226", "SD1244", "SD1841"}  # the warnings of test_validate_nci84
    assert notes.rules() <= {r.id for r in load_rules()}
    assert all(len(n.explanation) > 20 for n in notes.notes)


def test_validate_command_refuses_a_notes_file_that_does_not_exist(tmp_path, capsys):
    """(The notes on a real build, and their exit code, are run as a process in test_cli.py.)"""
    from sdtmify.cli import main

    out = tmp_path / "out"
    study.write_xpt(CLEAN, out)
    assert main(["validate", str(out), "--notes", str(tmp_path / "absent.yaml")]) == 2
    assert "--notes: no such file" in capsys.readouterr().err
    assert not (out / "validation").exists()


def test_a_declared_unknown_required_value_explains_its_findings_after_the_files_own_notes(tmp_path):
    from sdtmify.validate.notes import Note, Notes

    own = Notes((Note("SD1013", "the study's own words", "LB"),), file="validation-notes.yaml")
    unknowns = [
        ("DM", "COUNTRY", "not recorded at site 702", "sdtm/dm.yaml"),
        ("DM", "SITEID", "site closed", "sdtm/dm.yaml"),
        ("LB", "LBTESTCD", "never", "sdtm/lb.yaml"),
    ]
    notes = own.with_unknowns(unknowns)
    expected = "COUNTRY unknown (sdtm/dm.yaml): not recorded at site 702; SITEID unknown (sdtm/dm.yaml): site closed"
    assert notes.explain("SD1013", "DM") == expected
    assert notes.explain("DD4010", "DM") == expected
    assert notes.explain("SD1013", "LB") == "the study's own words"
    assert notes.explain("SD1013", "AE") == ""
    assert notes.file == "validation-notes.yaml"
