"""Rules are scoped by standard: every rule declares SDTM, ADaM or any; an SDTM rule never runs on an
ADaM dataset and an ADaM rule never on an SDTM one, whatever the dataset holds."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest

from sdtmify.errors import InputError
from sdtmify.validate.data import load_folder
from sdtmify.validate.rules import load_rules
from sdtmify.validate.run import validate_command, validate_tables


def test_every_rule_declares_its_standard():
    rules = load_rules()
    assert {r.scope["standard"] for r in rules} == {"SDTM", "ADaM", "any"}
    assert all(r.standard == "ADaM" for r in rules if r.id.startswith("AD"))
    assert all(r.standard == "SDTM" for r in rules if r.id.startswith("CT"))


@pytest.mark.parametrize("scope", ["{datasets: [DM]}", "{standard: SEND}", "null"])
def test_a_rule_without_a_standard_is_refused_naming_file_and_line(tmp_path, scope):
    (tmp_path / "mine.yaml").write_text(
        textwrap.dedent(f"""\
        rules:
          - id: SD9001
            authority: {{sponsor: a test}}
            severity: error
            scope: {scope}
            message: AGE is {{AGE}}
            check: {{type: record, when: {{AGE: {{lt: 0}}}}}}
        """)
    )
    with pytest.raises(InputError) as info:
        load_rules(tmp_path)
    message = str(info.value)
    assert "mine.yaml:" in message and "scope.standard" in message
    assert "declare the standard the rule checks: SDTM, ADaM, any" in message


def _rs_as(nci84_output, tmp_path, standard):
    folder, _ = nci84_output
    shutil.copy(folder / "sdtm" / "rs.xpt", tmp_path / "rs.xpt")
    tables = load_folder(tmp_path, standard)
    validation, _ = validate_tables(tables)
    return validation


def test_an_sdtm_rule_fires_on_sdtm_and_never_on_the_same_data_as_adam(nci84_output, tmp_path):
    """RS has 21 records without EPOCH: SD1226 (an SDTM rule) finds them in SDTM; the very same table
    declared ADaM is out of its scope, and no SDTM rule runs on it at all."""
    rules = {r.id: r for r in load_rules()}
    as_sdtm = _rs_as(nci84_output, tmp_path, "SDTM")
    assert {r.rule.id: r.count for r in as_sdtm.results}["SD1226"] == 21
    as_adam = _rs_as(nci84_output, tmp_path, "ADaM")
    results = {r.rule.id: r for r in as_adam.results}
    assert results["SD1226"].status == "skipped" and results["SD1226"].count == 0
    ran_on_rs = {rid for rid, r in results.items() if r.status != "skipped"}
    assert ran_on_rs and all(rules[rid].standard in ("ADaM", "any") for rid in ran_on_rs)
    assert not [i for i in as_adam.issues.itertuples() if rules[i.rule].standard == "SDTM"]


def test_an_adam_folder_gets_no_sdtm_rule_and_an_sdtm_folder_no_adam_rule(nci84_output, tmp_path):
    folder, _ = nci84_output
    rules = {r.id: r for r in load_rules()}
    for part, foreign in (("adam", "SDTM"), ("sdtm", "ADaM")):
        report_dir = tmp_path / part
        validate_command(folder / part, report_dir=report_dir, fail_on="never")
        report = json.loads((report_dir / "validation.json").read_text())
        assert {d["standard"] for d in report["inputs"]["datasets"]} == {"ADaM" if part == "adam" else "SDTM"}
        for rule in report["rules"]:
            if rules[rule["id"]].standard == foreign:
                assert rule["status"] == "skipped" and rule["findings"] == 0, rule["id"]
        assert all(rules[i["rule"]].standard != foreign for i in report["issues"])


def test_a_folder_takes_its_standard_from_its_define(nci84_output, tmp_path):
    """A plain folder's datasets are of the standard its define.xml declares; only without one is the
    standard read from the dataset name (AD*: ADaM)."""
    folder, _ = nci84_output
    document = json.loads((folder / "adam" / "dataset-json" / "adsl.json").read_text())
    document["name"] = "SUBJECTS"  # an analysis dataset whose name does not start with AD
    standards = {}
    for with_define in (True, False):
        analysis = tmp_path / f"analysis-{with_define}"
        analysis.mkdir()
        (analysis / "subjects.json").write_text(json.dumps(document))
        if with_define:
            shutil.copy(folder / "adam" / "define.xml", analysis / "define.xml")
        validate_command(analysis, report_dir=analysis / "r", fail_on="never")
        report = json.loads((analysis / "r" / "validation.json").read_text())
        standards[with_define] = [(d["name"], d["standard"]) for d in report["inputs"]["datasets"]]
    assert standards == {True: [("SUBJECTS", "ADaM")], False: [("SUBJECTS", "SDTM")]}
