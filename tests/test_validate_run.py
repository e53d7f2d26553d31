"""`sdtmify validate` end to end: files on disk (XPT written by pyreadstat, Dataset-JSON), the three
reports, exit codes (--fail-on), --max-errors-per-rule, skipped rules with reasons, reproducibility,
and the build step (validate_build)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest
from fixtures.validate import study  # tests/fixtures/validate/study.py: the clean study and its mutations
from openpyxl import load_workbook

from sdtmify.cli import main
from sdtmify.console import Console
from sdtmify.validate.context import load_terminology
from sdtmify.validate.engine import Context, run_rule
from sdtmify.validate.rules import load_rules
from sdtmify.validate.run import exit_code, validate_build, validate_command

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "validate"
SCHEMA = json.loads((ROOT / "specs" / "schema" / "validation-report.schema.json").read_text())

CLEAN = study.build_frames()


@pytest.fixture(scope="module")
def ct_file(shared) -> Path:
    return shared / "reference" / "ct" / "SDTM_Terminology_2025-03.txt.xz"


def write_study(folder: Path, mutation: dict | None = None) -> Path:
    frames = study.mutate(CLEAN, mutation) if mutation else CLEAN
    study.write_xpt(frames, folder)
    study.write_define(CLEAN, folder / "sdtm" / "define.xml", "SDTM", {"DM.SEX": ["F", "M"]})
    study.write_define(CLEAN, folder / "adam" / "define.xml", "ADaM")
    return folder


def run(folder: Path, ct_file: Path, **options) -> tuple[int, dict, str]:
    out = io.StringIO()  # the findings table and totals are results: stdout
    ui = Console(verbosity=1, stream=io.StringIO(), out=out)
    report_dir = folder / "reports"
    code = validate_command(
        folder,
        define=None,
        ct_file=str(ct_file),
        fail_on=options.get("fail_on", "error"),
        max_errors_per_rule=options.get("max_errors_per_rule", 1000),
        report_dir=report_dir,
        ui=ui,
    )
    return code, json.loads((report_dir / "validation.json").read_text()), out.getvalue()


@pytest.mark.slow
def test_clean_study_files_validate_clean_and_the_json_report_follows_its_schema(tmp_path, ct_file):
    code, report, console = run(write_study(tmp_path / "study"), ct_file)
    jsonschema.validate(report, SCHEMA)
    assert code == 0
    assert report["summary"]["errors"] == 0 and report["summary"]["warnings"] == 0
    assert {d["name"] for d in report["inputs"]["datasets"]} == set(CLEAN)
    assert report["inputs"]["define"] == ["define.xml", "define.xml"]
    ran = {r["id"] for r in report["rules"] if r["status"] == "passed"}
    assert {"DD4005", "SD1011", "CT2001", "SD1701"} <= ran  # define, IG, CT and relationship rules ran
    assert "validation: 0 errors, 0 warnings" in console


@pytest.mark.slow
def test_error_gives_exit_1_unless_fail_on_never(tmp_path, ct_file):
    folder = write_study(tmp_path / "study", {"set": {"AE": {0: {"AESER": "NO"}}}})
    code, report, console = run(folder, ct_file)
    assert code == 1
    flagged = [f for f in report["findings"] if f["rule"] == "SD1401"]
    assert flagged == [
        {
            "rule": "SD1401",
            "severity": "error",
            "dataset": "AE",
            "row": 1,
            "usubjid": "XYZ-001",
            "seq": 1,
            "variables": ["AESER"],
            "values": "NO",
            "message": "AESER is 'NO'",
        }
    ]
    assert "SD1401" in console
    assert run(folder, ct_file, fail_on="never")[0] == 0


@pytest.mark.slow
def test_warnings_fail_only_with_fail_on_warning(tmp_path, ct_file):
    folder = write_study(tmp_path / "study", {"set": {"AE": {1: {"EPOCH": ""}}}})  # SD1226 is a warning
    code, report, _ = run(folder, ct_file)
    assert report["summary"]["errors"] == 0 and report["summary"]["warnings"] == 1
    assert code == 0
    assert run(folder, ct_file, fail_on="warning")[0] == 1


@pytest.mark.slow
def test_max_errors_per_rule_caps_details_but_not_counts(tmp_path, ct_file):
    folder = write_study(tmp_path / "study", {"set": {"LB": {i: {"LBSTRESU": ""} for i in range(8)}}})
    _, report, _ = run(folder, ct_file, max_errors_per_rule=3)
    issues = {(i["rule"], i["dataset"]): i["count"] for i in report["issues"]}
    assert issues[("SD1615", "LB")] == 8
    assert len([f for f in report["findings"] if f["rule"] == "SD1615"]) == 3
    assert all(sum(f["rule"] == rule for f in report["findings"]) <= 3 for rule, _ in issues)


@pytest.mark.slow
def test_a_rule_that_cannot_run_is_reported_skipped_with_its_reason(tmp_path, ct_file):
    folder = write_study(tmp_path / "study", {"remove": ["TS"]})
    (folder / "sdtm" / "ts.xpt").unlink(missing_ok=True)
    _, report, _ = run(folder, ct_file)
    rules = {r["id"]: r for r in report["rules"]}
    assert rules["SD1801"]["status"] == "skipped"
    assert rules["SD1801"]["reason"] == "TS dataset absent"
    assert rules["SD1802"]["reason"] == "no dataset in scope (SDTM; datasets TS)"
    assert all(r["reason"] for r in report["rules"] if r["status"] == "skipped")
    assert all(not r["reason"] for r in report["rules"] if r["status"] != "skipped")


@pytest.mark.slow
def test_reports_are_byte_identical_across_runs(tmp_path, ct_file, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    folder = write_study(tmp_path / "study", {"set": {"DM": {0: {"AGE": -5}}}})
    run(folder, ct_file)
    first = {p.name: p.read_bytes() for p in (folder / "reports").iterdir()}
    run(folder, ct_file)
    second = {p.name: p.read_bytes() for p in (folder / "reports").iterdir()}
    assert set(first) == {".sdtmify-validation.json", "validation.json", "validation.xlsx"}  # the marker too
    assert first == second
    assert json.loads(first["validation.json"])["generated"] == "2026-01-01T00:00:00"


@pytest.mark.slow
def test_excel_report_has_the_reviewer_sheets_and_agrees_with_json(tmp_path, ct_file):
    folder = write_study(tmp_path / "study", {"set": {"AE": {0: {"AESER": "NO"}}, "DM": {1: {"AGEU": ""}}}})
    _, report, _ = run(folder, ct_file)
    book = load_workbook(folder / "reports" / "validation.xlsx", read_only=True)
    assert book.sheetnames == ["Summary", "Issue Summary", "Details", "Rules"]
    details = list(book["Details"].iter_rows(values_only=True))
    assert details[0] == (
        "Rule ID",
        "CORE ID",
        "FDA/P21 ID",
        "Severity",
        "Dataset",
        "Variable",
        "Record",
        "USUBJID",
        "Seq",
        "Value",
        "Message",
        "Explanation",
    )
    assert len(details) - 1 == len(report["findings"])
    # the ids come from each rule's authority in specs/rules (SD1401: core CORE-000087, cg CG0387)
    sd1401 = next(r for r in details[1:] if r[0] == "SD1401")
    assert sd1401[1:3] == ("CORE-000087", "CG0387")
    assert sd1401[3:7] == ("error", "AE", "AESER", 1) and sd1401[9] == "NO"
    dm = next(r for r in details[1:] if r[0] == "SD1302")
    assert (dm[1], dm[2], dm[4], dm[6]) == ("CORE-000189", "CG0665", "DM", 2)
    rules = list(book["Rules"].iter_rows(values_only=True))
    assert len(rules) - 1 == len(load_rules())
    issues = list(book["Issue Summary"].iter_rows(values_only=True))
    assert issues[0] == ("Rule ID", "CORE ID", "FDA/P21 ID", "Severity", "Dataset", "Found", "Message", "Explanation")
    issue_rows = {(r[4], r[0]): r[5] for r in issues[1:]}
    assert issue_rows[("AE", "SD1401")] == 1 and issue_rows[("DM", "SD1302")] == 1
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert summary["Errors"] == report["summary"]["errors"]


def test_dataset_json_folder_is_validated(tmp_path, ct_file):
    frame, meta = CLEAN["DM"]
    columns = [
        {
            "itemOID": f"IT.DM.{v.name}",
            "name": v.name,
            "label": v.label,
            "dataType": "double" if v.type == "Num" else "string",
            **({"length": v.length} if v.type == "Char" else {}),
        }
        for v in meta.variables
    ]
    rows = [[None if (isinstance(x, float) and x != x) else x for x in row] for row in frame.itertuples(index=False)]
    doc = {
        "datasetJSONCreationDateTime": "2026-01-01T00:00:00",
        "datasetJSONVersion": "1.1.0",
        "itemGroupOID": "IG.DM",
        "records": len(rows),
        "name": "DM",
        "label": meta.label,
        "columns": columns,
        "rows": rows,
    }
    folder = tmp_path / "json"
    folder.mkdir()
    (folder / "dm.json").write_text(json.dumps(doc))
    code, report, _ = run(folder, ct_file)
    assert code == 0
    assert [d["name"] for d in report["inputs"]["datasets"]] == ["DM"]
    statuses = {r["id"]: r["status"] for r in report["rules"]}
    assert statuses["SD1305"] == "passed" and statuses["SD1103"] == "passed"
    assert statuses["SD1308"] == "skipped"  # ARMCD in TA needs TA


def test_extensible_codelist_gives_a_warning_non_extensible_an_error(ct_file):
    ct = load_terminology(ct_file)
    frames = study.mutate(CLEAN, {"set": {"EX": {0: {"EXROUTE": "BY MOUTH"}}, "DM": {0: {"SEX": "FEMALE"}}}})
    ctx = Context(tables=study.tables(frames), ct=ct)
    rules = {r.id: r for r in load_rules()}
    _, route = run_rule(rules["CT2014"], ctx)  # ROUTE is extensible
    _, sex = run_rule(rules["CT2001"], ctx)  # SEX is not
    assert [h.severity for h in route] == ["warning"]
    assert [h.severity for h in sex] == [None]  # keeps the rule's severity: error


def test_cli_reports_input_errors_with_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["validate", str(tmp_path / "empty")]) == 2
    assert "no .xpt, .json or .ndjson datasets found" in capsys.readouterr().err


def test_exit_code_rules():
    assert exit_code({"error": 1, "warning": 0}, "error") == 1
    assert exit_code({"error": 0, "warning": 3}, "error") == 0
    assert exit_code({"error": 0, "warning": 3}, "warning") == 1
    assert exit_code({"error": 5}, "never") == 0


@pytest.mark.slow
def test_validate_build_writes_reports_under_validation_and_counts(tmp_path, ct_file):
    out = write_study(tmp_path / "out", {"set": {"AE": {0: {"AESER": "NO"}}}})

    class StudyStub:
        name = "XYZ"
        timestamp = None

    outcome = validate_build(out, StudyStub(), ct_file=str(ct_file))
    assert sorted(p.relative_to(out).as_posix() for p in outcome.written) == [
        "validation/validation.json",
        "validation/validation.xlsx",
    ]
    assert outcome.counts["error"] == 2  # SD1401 (not Y/N) and CT2007 (not in codelist NY)
    assert {i["rule"] for i in outcome.report["issues"] if i["severity"] == "error"} == {"SD1401", "CT2007"}
    assert outcome.exit_code == 1


def test_messages_name_the_values_found(ct_file):
    frames = study.mutate(CLEAN, {"set": {"AE": {0: {"AETERM": "CÉPHALÉE"}}, "SUPPAE": {1: {"IDVARVAL": "7"}}}})
    from sdtmify.validate.engine import details

    ctx = Context(tables=study.tables(frames))
    rules = {r.id: r for r in load_rules()}
    text = {
        rid: details(rules[rid], run_rule(rules[rid], ctx)[1], 10)["message"].tolist() for rid in ("SD1020", "SD1701")
    }
    assert text["SD1020"] == ["AE.AETERM value 'CÉPHALÉE' has non-ASCII characters"]
    assert text["SD1701"] == ["no AE record of XYZ-002 with AESEQ = 7"]


def test_report_dir_replaces_only_the_reports_sdtmify_wrote(tmp_path):
    """`validate --report-dir DIR` (the installed script): a validation.xlsx/.json in DIR that sdtmify did not
    write (or that was edited since) is refused with exit 2 naming it, before anything is written; the ones it
    wrote (recorded in .sdtmify-validation.json) are replaced; --force moves a foreign one aside, never deletes."""
    import shutil
    import subprocess
    import sys

    script = shutil.which("sdtmify", path=str(Path(sys.executable).parent)) or "sdtmify"
    folder = write_study(tmp_path / "study") / "sdtm"
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "validation.xlsx").write_bytes(b"my own workbook")

    def validate(*extra: str) -> subprocess.CompletedProcess:
        args = [script, "-q", "validate", str(folder), "--report-dir", str(reports), "--fail-on", "never", *extra]
        return subprocess.run(args, capture_output=True, text=True, timeout=300)

    refused = validate()
    assert refused.returncode == 2, refused.stderr
    assert str(reports / "validation.xlsx") in refused.stderr and "was not written by sdtmify" in refused.stderr
    assert "--force" in refused.stderr and "another folder" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert sorted(p.name for p in reports.iterdir()) == ["validation.xlsx"]  # nothing written
    assert (reports / "validation.xlsx").read_bytes() == b"my own workbook"

    forced = validate("--force")
    assert forced.returncode == 0, forced.stderr
    kept = [p for p in reports.iterdir() if p.name.startswith("validation.xlsx.kept-")]
    assert len(kept) == 1 and kept[0].read_bytes() == b"my own workbook"
    assert load_workbook(reports / "validation.xlsx").sheetnames[0] == "Summary"
    first = {name: (reports / name).read_bytes() for name in ("validation.json", "validation.xlsx")}
    marker = json.loads((reports / ".sdtmify-validation.json").read_text())
    assert marker["tool"] == "sdtmify" and sorted(marker["files"]) == ["validation.json", "validation.xlsx"]

    again = validate()  # its own files: replaced without --force, byte for byte the same
    assert again.returncode == 0, again.stderr
    assert {name: (reports / name).read_bytes() for name in first} == first
    assert len([p for p in reports.iterdir() if ".kept-" in p.name]) == 1

    (reports / "validation.json").write_text('{"edited": "by hand"}')  # changed since sdtmify wrote it
    edited = validate()
    assert edited.returncode == 2 and str(reports / "validation.json") in edited.stderr, edited.stderr
    assert (reports / "validation.json").read_text() == '{"edited": "by hand"}'
