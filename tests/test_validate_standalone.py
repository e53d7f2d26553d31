"""Validating an ADaM folder on its own, and the false positives reviewers reported: a rule that cannot
run for lack of a dataset is skipped with its reason, never turned into findings; SDTM predecessors
come from --sdtm or a sibling ../sdtm; absent variables are not null; date/time ItemDefs have no
Length; CHG at baseline is the sponsor's choice; define.xml is schema-checked inside ``validate``."""

from __future__ import annotations

import inspect
import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fixtures.validate import study  # tests/fixtures/validate/study.py: the clean study and its mutations

from sdtmify.console import Console
from sdtmify.errors import InputError
from sdtmify.validate.define_xml import read_define
from sdtmify.validate.engine import Context, details, run_rule
from sdtmify.validate.rules import load_rules
from sdtmify.validate.run import validate_command

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "validate"
RULES = {r.id: r for r in load_rules()}

CLEAN = study.build_frames()


def write_study(folder: Path, mutation: dict | None = None) -> Path:
    frames = study.mutate(CLEAN, mutation) if mutation else CLEAN
    study.write_xpt(frames, folder)
    study.write_define(CLEAN, folder / "sdtm" / "define.xml", "SDTM")
    study.write_define(CLEAN, folder / "adam" / "define.xml", "ADaM")
    return folder


def run(folder: Path, **options) -> tuple[int, dict, str]:
    err = io.StringIO()
    report_dir = folder.parent / "reports"
    code = validate_command(
        folder, report_dir=report_dir, ui=Console(verbosity=1, stream=err, out=io.StringIO()), **options
    )
    return code, json.loads((report_dir / "validation.json").read_text()), err.getvalue()


def rules_of(report: dict) -> dict:
    return {r["id"]: r for r in report["rules"]}


# --- AD3020 and the SDTM predecessors ----------------------------------------------------------


def test_adam_folder_alone_skips_traceability_with_its_reason_instead_of_errors(tmp_path):
    built = write_study(tmp_path / "out", {"set": {"ADLB": {1: {"SRCSEQ": 9}}}})
    alone = tmp_path / "elsewhere" / "analysis"
    shutil.copytree(built / "adam", alone)
    code, report, console = run(alone, define=alone / "define.xml")
    ad3020 = rules_of(report)["AD3020"]
    assert report["summary"]["errors"] == 0 and code == 0
    assert ad3020["findings"] == 0
    # ADTTE points at DS, ADLB at LB, ADRS at RS: none was given, so none is checked
    assert ad3020["status"] == "skipped"
    assert ad3020["reason"] == (
        "ADAE: no SRCDOM; "
        "ADLB: SRCDOM dataset(s) LB not given (pass the SDTM folder with validate --sdtm); "
        "ADRS: SRCDOM dataset(s) RS not given (pass the SDTM folder with validate --sdtm); "
        "ADSL: no SRCDOM; "
        "ADTTE: SRCDOM dataset(s) DS not given (pass the SDTM folder with validate --sdtm)"
    )
    assert "SDTM predecessors" not in console
    assert report["inputs"]["references"] == []


def test_sibling_sdtm_folder_is_found_said_and_used_but_not_validated(tmp_path):
    built = write_study(tmp_path / "out", {"set": {"ADLB": {1: {"SRCSEQ": 9}}, "LB": {0: {"LBSTRESU": ""}}}})
    code, report, console = run(built / "adam")
    assert f"SDTM predecessors: {len(list((built / 'sdtm').glob('*.xpt')))} datasets from {built / 'sdtm'}" in console
    assert "found beside the ADaM folder; looked up, not validated" in console
    assert {d["standard"] for d in report["inputs"]["datasets"]} == {"ADaM"}
    assert "LB" in report["inputs"]["references"] and "DM" in report["inputs"]["references"]
    assert not any(i["dataset"] == "LB" for i in report["issues"])  # LB's own problem is not reported
    assert rules_of(report)["SD1801"]["reason"] == "no SDTM dataset validated"
    flagged = [f for f in report["findings"] if f["rule"] == "AD3020"]
    assert [(f["dataset"], f["row"]) for f in flagged] == [("ADLB", 2)]
    assert flagged[0]["message"] == (
        "SRCDOM 'LB' SRCVAR 'LBSTRESN' SRCSEQ 9 has no LB record with LBSEQ 9 for USUBJID XYZ-001"
    )
    assert code == 1


def test_sdtm_option_names_the_predecessors_explicitly(tmp_path):
    built = write_study(tmp_path / "out")
    alone = tmp_path / "elsewhere" / "analysis"
    shutil.copytree(built / "adam", alone)
    code, report, console = run(alone, sdtm=built / "sdtm")
    assert code == 0
    assert f"from {built / 'sdtm'} (validate --sdtm; looked up, not validated)" in console
    ad3020 = rules_of(report)["AD3020"]
    assert ad3020["status"] == "passed" and ad3020["skipped_in"] == ""
    assert set(ad3020["datasets"]) == {"ADLB", "ADRS", "ADTTE"}
    assert rules_of(report)["AD3001"]["status"] == "passed"  # ADSL.AGE against DM.AGE ran
    with pytest.raises(InputError, match="--sdtm: not a folder"):
        run(alone, sdtm=tmp_path / "nowhere")


def test_a_rule_that_ran_elsewhere_still_names_the_datasets_it_could_not_check(tmp_path):
    frames = dict(CLEAN)
    frames.pop("RS")
    ctx = Context(tables=study.tables(frames))
    result, hits = run_rule(RULES["AD3020"], ctx)
    assert result.status == "passed"
    assert result.datasets == ("ADLB", "ADTTE")
    assert result.skipped_in == "ADRS: SRCDOM dataset(s) RS not given (pass the SDTM folder with validate --sdtm)"


def test_traceability_message_names_a_missing_variable(tmp_path):
    frames = study.mutate(CLEAN, {"set": {"ADTTE": {0: {"SRCVAR": "DSENDTC"}}}})
    rule = RULES["AD3020"]
    _, hits = run_rule(rule, Context(tables=study.tables(frames)))
    assert details(rule, hits, 5)["message"].tolist() == [
        "SRCDOM 'DS' SRCVAR 'DSENDTC' SRCSEQ 2 names a variable DS does not have"
    ]


# --- absent is not null (AD3008) ---------------------------------------------------------------


def _without(frames, dataset, variable):
    frame, meta = frames[dataset]
    meta = replace(meta, variables=tuple(v for v in meta.variables if v.name != variable))
    return dict(frames, **{dataset: (frame.drop(columns=[variable]), meta)})


def test_absent_population_flag_is_not_flagged_nor_shown_as_null():
    rule = RULES["AD3008"]
    frames = _without(CLEAN, "ADSL", "ITTFL")
    result, hits = run_rule(rule, Context(tables=study.tables(frames)))
    assert result.status == "passed"
    frames = study.mutate(frames, {"set": {"ADSL": {0: {"SAFFL": "X"}}}})
    result, hits = run_rule(rule, Context(tables=study.tables(frames)))
    assert result.count == 1
    (message,) = details(rule, hits, 5)["message"]
    assert "SAFFL 'X'" in message
    assert "ITTFL '<not in dataset>'" in message and "ITTFL ''" not in message


# --- no Length for date/time ItemDefs (DD4006) -------------------------------------------------


def test_datetime_itemdef_without_length_is_not_compared_with_the_data_length(tmp_path):
    change = {"data_type": {"AE.AESTDTC": "datetime"}, "length": {"AE.AESTDTC": None}}
    path = study.write_define(CLEAN, tmp_path / "SDTM" / "define.xml", "SDTM", change=change)
    meta = read_define(path)
    ae = next(d for d in meta.datasets if d.name == "AE")
    assert ae.variable("AESTDTC").data_type == "datetime" and ae.variable("AESTDTC").length == 0
    ctx = Context(tables=study.tables(CLEAN), define={"SDTM": meta}, define_files={"SDTM": path})
    result, hits = run_rule(RULES["DD4006"], ctx)
    assert result.status == "passed", [h.items for h in hits]
    assert run_rule(RULES["DD0001"], ctx)[0].status == "passed"  # the schema agrees: no Length there
    # a stated Length on a date/time type is not compared either (Define-XML 2.1 gives none)
    change["length"] = {"AE.AESTDTC": 8}
    meta = read_define(study.write_define(CLEAN, tmp_path / "SDTM" / "define.xml", "SDTM", change=change))
    assert run_rule(RULES["DD4006"], Context(tables=study.tables(CLEAN), define={"SDTM": meta}))[0].status == "passed"
    # while a text ItemDef still is
    meta = read_define(
        study.write_define(CLEAN, tmp_path / "SDTM" / "define.xml", "SDTM", change={"length": {"AE.AESTDTC": 8}})
    )
    assert run_rule(RULES["DD4006"], Context(tables=study.tables(CLEAN), define={"SDTM": meta}))[0].count == 1


# --- CHG on the baseline record (AD3024) -------------------------------------------------------


def _adlb_rows(frames, rule_id="AD3024"):
    result, hits = run_rule(RULES[rule_id], Context(tables=study.tables(frames)))
    return result.status, sorted({int(i) + 1 for h in hits for i in np.flatnonzero(h.mask)})


def test_chg_at_baseline_may_be_null_or_zero_but_not_wrong():
    # ADLB rows 1 and 3 are baseline records (ABLFL = Y), rows 2 and 4 post-baseline
    assert _adlb_rows(study.mutate(CLEAN, {"set": {"ADLB": {0: {"CHG": ""}, 2: {"CHG": ""}}}})) == ("passed", [])
    assert _adlb_rows(CLEAN) == ("passed", [])  # CHG 0 at baseline
    assert _adlb_rows(study.mutate(CLEAN, {"set": {"ADLB": {0: {"CHG": 5}}}})) == ("failed", [1])


def test_chg_missing_after_baseline_is_flagged_but_not_before_it():
    assert _adlb_rows(study.mutate(CLEAN, {"set": {"ADLB": {1: {"CHG": ""}}}})) == ("failed", [2])
    # a record dated before the baseline record (screening) may leave CHG empty
    early = study.mutate(CLEAN, {"set": {"ADLB": {1: {"CHG": "", "ADT": 21900, "AVISITN": -1}}}})
    assert _adlb_rows(early) == ("passed", [])


# --- define.xml inside validate: XSD (DD0001) and references (DD4013) ---------------------------


@pytest.mark.slow
def test_validate_runs_the_define_xml_schema_and_reference_rules(tmp_path):
    built = write_study(tmp_path / "out")
    code, report, _ = run(built)
    assert code == 0
    assert rules_of(report)["DD0001"]["status"] == "passed"
    assert rules_of(report)["DD4013"]["status"] == "passed"
    broken = built / "sdtm" / "define.xml"
    study.write_define(
        CLEAN, broken, "SDTM", change={"data_type": {"AE.AESEQ": "number"}, "codelist_ref": {"AE.AETERM": "CL.NOSUCH"}}
    )
    code, report, _ = run(built)
    assert code == 1
    schema = [f for f in report["findings"] if f["rule"] == "DD0001"]
    assert len(schema) == 1 and schema[0]["dataset"] == "sdtm/define.xml"
    assert schema[0]["message"].startswith("sdtm/define.xml:")
    assert "'number' is not an element of the set" in schema[0]["message"]
    line = int(schema[0]["message"].split(":")[1])
    assert 'Name="AESEQ"' in broken.read_text().splitlines()[line - 1]
    assert schema[0]["values"] == f"sdtm/define.xml:{line}"
    references = [f["message"] for f in report["findings"] if f["rule"] == "DD4013"]
    assert len(references) == 1 and "CodeListRef CodeListOID='CL.NOSUCH' refers to no CodeList" in references[0]


def test_define_check_and_the_rules_read_define_xml_through_one_reader():
    from sdtmify.validate import define_check, define_xml
    from sdtmify.writers import define

    assert define_check.parse_define is define_xml.parse_define
    assert define_check.item_groups is define_xml.item_groups
    assert not (ROOT / "src" / "sdtmify" / "writers" / "define_check.py").exists()
    assert "validate" not in inspect.getsource(define)  # the writer does not reach into the validator


# --- the catalogue refuses a rule whose text was split by a comma -------------------------------


def test_rule_loader_refuses_unknown_keys_such_as_a_description_cut_at_a_comma(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "rules:\n"
        "  - {id: XX0001, authority: {sponsor: test}, severity: error, scope: {standard: SDTM},\n"
        "     description: AESER is Y, or N., message: \"AESER '{AESER}'\",\n"
        "     check: {type: record, when: {AESER: {not_in: [Y, N]}}}}\n"
    )
    with pytest.raises(InputError, match=r"bad.yaml:2 .*unknown key\(s\) 'or N.'.*quote a text that holds a comma"):
        load_rules(tmp_path)
    assert RULES["AD3020"].description.startswith("SRCDOM, SRCVAR and SRCSEQ point at an existing dataset")
