"""Broken ADaM specifications: each gives one message naming the file, line and key, saying what to do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_adam_engine import FakeStudy, sdtm_bundle

from sdtmify.adam.engine import build_adam
from sdtmify.adam.steps import STEPS
from sdtmify.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
ADAM = ROOT / "mappings" / "NCI84" / "adam"


def broken(tmp_path: Path, file: str, old: str, new: str) -> str:
    """Copy NCI84's ADaM specs, make one edit, build, and return the error message."""
    folder = tmp_path / "mappings" / "STUDY"
    shutil.copytree(ADAM, folder / "adam")
    path = folder / "adam" / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture edit not applicable: {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        build_adam(FakeStudy(folder), sdtm_bundle())
    return str(caught.value)


def line_of(file: str, text: str) -> int:
    """The first line holding ``text`` (a line that is exactly ``text`` when it ends with a colon)."""
    lines = (ADAM / file).read_text(encoding="utf-8").splitlines()
    if text.endswith(":"):
        return next(index for index, line in enumerate(lines, start=1) if line.strip() == text)
    return next(index for index, line in enumerate(lines, start=1) if text in line)


def test_misspelt_top_level_key(tmp_path):
    message = broken(tmp_path, "adsl.yaml", "label: Subject", "labl: Subject")
    assert message == (
        f"mappings/STUDY/adam/adsl.yaml:{line_of('adsl.yaml', 'label: Subject')}: "
        "unknown key 'labl' (did you mean 'label'?)"
    )


def test_unknown_derivation_suggests_the_close_one(tmp_path):
    message = broken(tmp_path, "adsl.yaml", "- derive_var_trtdurd: {}", "- derive_var_trtdur: {}")
    line = line_of("adsl.yaml", "derive_var_trtdurd")
    assert message.startswith(f"mappings/STUDY/adam/adsl.yaml:{line} steps[12]")
    assert "'derive_var_trtdur' is not one of: derive_param_bor, " in message
    assert message.endswith("(did you mean 'derive_var_trtdurd'?)")


def test_misspelt_derivation_argument(tmp_path):
    message = broken(tmp_path, "adrs.yaml", "sd_min_days: 42", "sd_min_day: 42")
    assert message.startswith(f"mappings/STUDY/adam/adrs.yaml:{line_of('adrs.yaml', 'sd_min_days')} steps[1]")
    assert message.endswith("unknown key 'sd_min_day' (did you mean 'sd_min_days'?)")


def test_negative_interval_is_refused(tmp_path):
    message = broken(tmp_path, "adrs.yaml", "sd_min_days: 42", "sd_min_days: -1")
    line = line_of("adrs.yaml", "sd_min_days")
    assert message == (
        f"mappings/STUDY/adam/adrs.yaml:{line} steps[1].derive_param_bor.sd_min_days: -1 is less than the minimum of 0"
    )


def test_variable_that_no_step_derives(tmp_path):
    message = broken(tmp_path, "adsl.yaml", "  - SAFFL\n", "  - SAFFL\n  - ITTFL\n")
    line = line_of("adsl.yaml", "  - SAFFL") + 1
    assert message == (
        f"mappings/STUDY/adam/adsl.yaml:{line} variables.ITTFL: ITTFL is not derived by any step; "
        "add a step that derives it or remove it from 'variables'"
    )


def test_sponsor_variable_needs_label_and_type(tmp_path):
    declared = '{name: CYCLESN, label: "Number of Treatment Cycles Received", type: Num, data_type: integer}'
    message = broken(tmp_path, "adsl.yaml", declared, "CYCLESN")
    assert message == (
        f"mappings/STUDY/adam/adsl.yaml:{line_of('adsl.yaml', declared)} variables.CYCLESN: CYCLESN is "
        "not an ADaMIG ADSL variable and has no predecessor to take its metadata from; give it a "
        "label and a type (Char or Num)"
    )


def test_variable_listed_twice(tmp_path):
    message = broken(tmp_path, "adsl.yaml", "  - SAFFL\n", "  - SAFFL\n  - SAFFL\n")
    line = line_of("adsl.yaml", "  - SAFFL")
    assert message == (
        f"mappings/STUDY/adam/adsl.yaml:{line + 1} variables[23]: variable SAFFL is listed twice "
        f"(first on line {line}); keep one"
    )


def test_qnam_absent_from_supp(tmp_path):
    message = broken(tmp_path, "adsl.yaml", "METSITN: METSITES", "METSITN: METSITS")
    line = line_of("adsl.yaml", "- derive_vars_supp:")
    assert message.startswith(
        f"mappings/STUDY/adam/adsl.yaml:{line} steps[1].derive_vars_supp: "
        "derive_vars_supp(SUPPDM): no SUPPDM record has QNAM METSITS; QNAMs present: "
    )


def test_missing_sdtm_variable_names_what_exists(tmp_path):
    message = broken(tmp_path, "adrs.yaml", "date_var: RSDTC", "date_var: RSDATE")
    assert (
        "adrs.yaml:" in message
        and "RS has no variable RSDATE; derive it in an earlier step or name one of: "
        "STUDYID, DOMAIN, USUBJID, RSTESTCD, RSSTRESC, RSSTRESN, RSDTC"
        in message
    )


def test_num_variable_holding_text(tmp_path):
    declared = '{name: TRT01RTE, label: "Planned IL-12 Route", type: Char}'
    message = broken(tmp_path, "adsl.yaml", declared, declared.replace("Char", "Num"))
    assert message == (
        f"mappings/STUDY/adam/adsl.yaml:{line_of('adsl.yaml', declared)} variables.TRT01RTE: TRT01RTE "
        "is Num but holds text such as 'IV'; declare it Char or derive a number"
    )


def test_cycle_between_datasets(tmp_path):
    folder = tmp_path / "mappings" / "STUDY"
    shutil.copytree(ADAM, folder / "adam")
    for file, anchor, extra in (
        ("adae.yaml", "  - derive_vars_dt:", "  - derive_var_merged_exist_flag: {from: ADLB, new_var: LBFL}\n"),
        ("adlb.yaml", "  - derive_var_base: {}\n", "  - derive_var_merged_exist_flag: {from: ADAE, new_var: AEFL}\n"),
    ):
        path = folder / "adam" / file
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(anchor, extra + anchor, 1), encoding="utf-8")
    with pytest.raises(
        InputError,
        # ADAE -> ADLB -> ADSL (its treatment variables) -> ADAE (ADSL's DLT flag): a cycle of three.
        match=r"adae.yaml:\d+ steps\[\d\]: derive_var_merged_exist_flag reads ADLB, which "
        r"is waiting for ADSL: the datasets depend on each other in a cycle",
    ):
        build_adam(FakeStudy(folder), sdtm_bundle())


def test_schema_lists_exactly_the_library_vocabulary():
    schema = json.loads((ROOT / "specs" / "schema" / "adam.schema.json").read_text(encoding="utf-8"))
    item = schema["properties"]["steps"]["items"]
    assert sorted(item["properties"]) == sorted(STEPS) == item["propertyNames"]["enum"]


def test_every_derivation_states_its_rule():
    for name, step in STEPS.items():
        doc = step.function.__doc__ or ""
        assert len(doc.split()) >= 12, f"{name}: the docstring must state the rule"


def test_analysis_results_file_is_left_to_the_define_writer(tmp_path):
    folder = tmp_path / "mappings" / "STUDY"
    shutil.copytree(ADAM, folder / "adam")
    (folder / "adam" / "analysis_results.yaml").write_text("displays: [not, a, dataset]\n", encoding="utf-8")
    adam = build_adam(FakeStudy(folder), sdtm_bundle())
    assert sorted(adam.datasets) == ["ADAE", "ADLB", "ADRS", "ADSL", "ADTTE"]


def test_required_adamig_variable_must_be_declared(tmp_path):
    message = broken(tmp_path, "adsl.yaml", "  - SITEID\n", "")
    assert message == (
        f"mappings/STUDY/adam/adsl.yaml:{line_of('adsl.yaml', 'variables:')} variables: SITEID is "
        "required in every ADaMIG ADSL dataset; add it to 'variables'"
    )


def test_check_specs_reports_every_broken_file_without_building(tmp_path):
    from sdtmify.adam.spec import check_specs

    assert check_specs(ADAM) == []
    folder = tmp_path / "mappings" / "STUDY" / "adam"
    shutil.copytree(ADAM, folder)
    for name, old, new in (
        ("adsl.yaml", "label: Subject", "labl: Subject"),
        ("adrs.yaml", "sd_min_days: 42", "sd_min_days: soon"),
    ):
        path = folder / name
        path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    messages = check_specs(folder)
    assert len(messages) == 2
    assert messages[0].startswith("mappings/STUDY/adam/adrs.yaml:") and "'soon' should be a number" in messages[0]
    assert messages[1].endswith("unknown key 'labl' (did you mean 'label'?)")


def test_parameter_codes_of_the_response_steps_are_required(tmp_path):
    message = broken(tmp_path, "adrs.yaml", "      bor_paramcd: BOR\n      paramcd: BCP", "      paramcd: BCP")
    line = line_of("adrs.yaml", "- derive_param_rsp:")
    assert message == (
        f"mappings/STUDY/adam/adrs.yaml:{line} steps[6].derive_param_rsp: missing required key 'bor_paramcd'"
    )


def test_a_negative_number_of_ne_between_confirmations_is_refused(tmp_path):
    message = broken(tmp_path, "adrs.yaml", "max_ne: 1", "max_ne: -1")
    line = line_of("adrs.yaml", "max_ne")
    assert message == (
        f"mappings/STUDY/adam/adrs.yaml:{line} steps[2].derive_param_bor.max_ne: -1 is less than the minimum of 0"
    )


MINIMAL_ADSL = """\
dataset: ADSL
label: Subject-Level Analysis Dataset
class: ADSL
keys: [STUDYID, USUBJID]
{not_applicable}steps:
  - records: {{from: DM}}
variables: [STUDYID, USUBJID, SUBJID, SITEID, AGE, AGEU, SEX, RACE, ARM, ACTARM]
"""


def minimal_adsl(tmp_path: Path, not_applicable: str) -> Path:
    """A study whose whole ADaM is an ADSL copied from DM, with no treatment variables."""
    folder = tmp_path / "mappings" / "MINI"
    (folder / "adam").mkdir(parents=True)
    (folder / "adam" / "adsl.yaml").write_text(MINIMAL_ADSL.format(not_applicable=not_applicable), encoding="utf-8")
    return folder


def test_a_study_without_trt01p_says_so_and_builds(tmp_path):
    """ADaMIG 1.3 requires TRT01P in ADSL; a study whose analysis has no planned treatment declares it
    not applicable with its reason, and ADSL builds without it."""
    folder = minimal_adsl(tmp_path, 'not_applicable: {TRT01P: "Single-arm analysis; no planned treatment"}\n')
    adsl = build_adam(FakeStudy(folder), sdtm_bundle()).datasets["ADSL"]
    assert "TRT01P" not in adsl.frame.columns
    assert [v.name for v in adsl.meta.variables] == [
        "STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ARM", "ACTARM"
    ]  # fmt: skip
    assert adsl.frame["USUBJID"].tolist()[:2] == ["NCI84-001-A", "NCI84-001-B"]


def test_the_not_applicable_reason_reaches_define_xml_and_the_adrg(tmp_path):
    """The reason is a comment on the dataset in define.xml (the variable is absent: no ItemDef to comment
    on), which passes the Define-XML 2.1 XSD and the ADRG lists among the dataset comments."""
    from lxml import etree

    from sdtmify.validate.define_xml import validate_define_xsd
    from sdtmify.writers.define import write_define_files
    from sdtmify.writers.guides import adrg_blocks, render_markdown

    folder = minimal_adsl(tmp_path, 'not_applicable: {TRT01P: "Single-arm analysis; no planned treatment"}\n')
    bundle = build_adam(FakeStudy(folder), sdtm_bundle())
    text = "Not included although the ADaMIG ADSL dataset requires them: TRT01P: Single-arm analysis; no planned treatment."
    xml = write_define_files(bundle, tmp_path / "define", FakeStudy(folder))[0]
    assert validate_define_xsd(xml) == []
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
    root = etree.parse(str(xml))
    adsl = root.find(".//odm:ItemGroupDef[@Name='ADSL']", ns)
    oid = adsl.get("{http://www.cdisc.org/ns/def/v2.1}CommentOID")
    comment = root.find(f".//def:CommentDef[@OID='{oid}']", ns)
    assert comment.findtext("odm:Description/odm:TranslatedText", namespaces=ns) == text
    assert f"- ADSL: {text}" in render_markdown(adrg_blocks({}, bundle, None)).splitlines()


def test_without_the_declaration_trt01p_is_still_required(tmp_path):
    with pytest.raises(InputError) as caught:
        build_adam(FakeStudy(minimal_adsl(tmp_path, "")), sdtm_bundle())
    assert str(caught.value) == (
        "mappings/MINI/adam/adsl.yaml:7 variables: TRT01P is required in every ADaMIG ADSL dataset; "
        "add it to 'variables'"
    )


def test_not_applicable_names_only_required_variables(tmp_path):
    folder = minimal_adsl(tmp_path, "not_applicable: {TRTSDT: not needed}\n")
    with pytest.raises(InputError) as caught:
        build_adam(FakeStudy(folder), sdtm_bundle())
    assert str(caught.value).startswith(
        "mappings/MINI/adam/adsl.yaml:5 not_applicable.TRTSDT: TRTSDT is not a required variable of an "
        "ADaMIG ADSL dataset; 'not_applicable' lists only those (required: STUDYID, USUBJID,"
    )
