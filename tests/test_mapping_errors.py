"""Broken mapping files: each gives one exact message naming file, line, key and what to do."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sdtmify.errors import InputError, MappingError
from sdtmify.mapping.engine import build_sdtm
from sdtmify.study import load_study

sys.path.insert(0, str(Path(__file__).parent / "studies"))
from nci84_mini import ROOT, write_mini


def broken(tmp_path, file: str, old: str, new: str) -> tuple[Path, str]:
    """The mini NCI84 study with one edit in ``file``; returns the study folder and the edited text."""
    study = write_mini(tmp_path)
    path = study / file
    text = path.read_text()
    assert old in text, f"{old!r} not in {file}"
    text = text.replace(old, new, 1)
    path.write_text(text)
    return study, text


def line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if fragment in line)


def error_of(study: Path) -> str:
    with pytest.raises(InputError) as info:
        build_sdtm(load_study(study))
    return str(info.value)


def test_unknown_source_column_suggests_the_closest(tmp_path):
    study, text = broken(tmp_path, "sdtm/ae.yaml", "{iso8601: onset_date,", "{iso8601: onset_dt,")
    line = line_of(text, "onset_dt")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line} AESTDTC: column 'onset_dt' not in source "
        f"'adverse_events' (did you mean 'onset_date'?)"
    )


def test_unknown_key_is_an_error_with_a_suggestion(tmp_path):
    study, text = broken(tmp_path, "sdtm/ae.yaml", "AEENDTC:  {iso8601:", "AEENDTC:  {iso8061:")
    line = line_of(text, "iso8061")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line} AEENDTC: unknown key 'iso8061' (did you mean 'iso8601'?)"
    )


def test_impossible_date_names_row_and_value(tmp_path):
    study = write_mini(tmp_path)
    source = study / "source" / "adverse_events.csv"
    source.write_text(source.read_text().replace("13-MAR-2003", "31-FEB-2003"))
    line = line_of((study / "sdtm" / "ae.yaml").read_text(), "AESTDTC:")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line} AESTDTC: row 3 of source 'adverse_events' column 'onset_date': "
        f"'31-FEB-2003' is an impossible date; correct the source or list its form in 'formats'"
    )


def test_unparseable_date_names_the_accepted_forms(tmp_path):
    study = write_mini(tmp_path)
    source = study / "source" / "adverse_events.csv"
    source.write_text(source.read_text().replace("14-OCT-2002", "Oct 14th 2002"))
    line = line_of((study / "sdtm" / "ae.yaml").read_text(), "AESTDTC:")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line} AESTDTC: row 1 of source 'adverse_events' column 'onset_date': "
        f"'Oct 14th 2002' is not a date in the forms dd-mon-yyyy, iso; correct the source "
        f"or list its form in 'formats'"
    )


def test_undeclared_source_table(tmp_path):
    study, text = broken(tmp_path, "sdtm/ae.yaml", "from: adverse_events", "from: adverse_event")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line_of(text, 'from:')} from: source 'adverse_event' "
        f"is not declared in study.yaml (did you mean 'adverse_events'?)"
    )


def test_value_missing_from_a_map(tmp_path):
    study, text = broken(tmp_path, "sdtm/ae.yaml", " Possible: POSSIBLY RELATED,", "")
    line = line_of(text, "Unrelated: NOT RELATED")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line} AEREL.map: values not in the map: 'Possible' "
        f"(row 2); add them to 'map' or set 'unmapped: keep'"
    )


def test_value_not_in_a_non_extensible_codelist(tmp_path):
    study, text = broken(
        tmp_path, "sdtm/ae.yaml", 'map: {"Yes": Y, "No": N}, ct: NY}', 'map: {"Yes": Y, "No": NEVER}, ct: NY}'
    )
    line = line_of(text, "AESER:")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line} AESER.ct: 'NEVER' not in CT codelist NY (C66742) "
        f"(row 1); map it to a submission value with 'map'"
    )


def test_sponsor_terms_only_in_extensible_codelists(tmp_path):
    study, text = broken(
        tmp_path, "sdtm/dm.yaml", "{column: sex, ct: SEX}", "{column: sex, ct: SEX, extend: {U: Unknown}}"
    )
    line = line_of(text, "SEX:")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/dm.yaml:{line} SEX.extend: codelist SEX is not extensible; "
        f"sponsor terms U cannot be added"
    )


def test_non_standard_variable_belongs_in_supp(tmp_path):
    study, text = broken(
        tmp_path,
        "sdtm/ae.yaml",
        "  AETERM:   {column: ae_term}",
        "  AETERM:   {column: ae_term}\n  AEDLTFL:  {column: dose_limiting}",
    )
    line = line_of(text, "AEDLTFL")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line} AEDLTFL: AEDLTFL is not an SDTMIG 3.4 AE variable; "
        f"put it under 'supp:' (a supplemental qualifier) (did you mean 'AELLT'?)"
    )


def test_missing_domain_key(tmp_path):
    study, _ = broken(tmp_path, "sdtm/ex.yaml", "domain: EX\n", "")
    assert error_of(study) == "mappings/NCI84/sdtm/ex.yaml:3: missing required key 'domain'"


def test_two_operations_in_one_variable(tmp_path):
    study, text = broken(
        tmp_path, "sdtm/dm.yaml", "COUNTRY: {constant: USA,", "COUNTRY: {constant: USA, column: site_id,"
    )
    line = line_of(text, "COUNTRY:")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/dm.yaml:{line} COUNTRY: needs exactly one operation; found column and constant"
    )


def test_visit_not_in_the_schedule(tmp_path):
    study, _ = broken(tmp_path, "source/tumor_assessments.csv", "After cycle 3", "After cycle 4")
    text = (study / "sdtm" / "rs.yaml").read_text()
    line = line_of(text, "- visit:")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/rs.yaml:{line} derive[0].visit.from: visit 'After cycle 4' (row 2 of "
        f"'tumor_assessments') "
        f"is not in the visit schedule of study.yaml; add it to a visit's 'match' or to 'unscheduled'"
    )


def test_qnam_longer_than_8(tmp_path):
    study, text = broken(tmp_path, "sdtm/ae.yaml", "  AEDLT: {column", "  AEDOSELIMIT: {column")
    line = line_of(text, "AEDOSELIMIT")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line} supp.AEDOSELIMIT: 'AEDOSELIMIT' does not match a QNAM of at "
        f"most 8 letters/digits"
    )


def test_yaml_syntax_error_names_the_line(tmp_path):
    study, text = broken(
        tmp_path, "sdtm/ex.yaml", "  EXDOSE:   {column: dose, as: num}", "  EXDOSE:   {column: dose, as: num"
    )
    message = error_of(study)
    assert message.startswith("mappings/NCI84/sdtm/ex.yaml:")
    assert message.endswith(
        "YAML syntax: expected ',' or '}', but got ':'; fix the indentation or quoting on this line"
    )


def test_lookup_without_match(tmp_path):
    study = write_mini(tmp_path)
    meddra = study / "dictionaries" / "meddra.csv"
    meddra.write_text(
        "\n".join(line for line in meddra.read_text().splitlines() if not line.startswith("Anaemia")) + "\n"
    )
    text = (study / "sdtm" / "ae.yaml").read_text()
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line_of(text, 'AEDECOD:')} AEDECOD.lookup: 1 records have "
        f"no match in 'meddra', e.g. ['Anaemia'] (row 2); add them to that table"
    )


def test_text_where_a_number_is_expected(tmp_path):
    study = write_mini(tmp_path)
    dosing = study / "source" / "dosing.csv"
    dosing.write_text(dosing.read_text().replace(",175,", ",175 mg,", 1))
    text = (study / "sdtm" / "ex.yaml").read_text()
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ex.yaml:{line_of(text, 'EXDOSE:')} EXDOSE.as: '175 mg' is not a "
        f"number (row 2); map it first or keep the variable as char"
    )


def test_file_named_after_another_domain(tmp_path):
    study, text = broken(tmp_path, "sdtm/ex.yaml", "domain: EX", "domain: EC")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ex.yaml:{line_of(text, 'domain:')} domain: domain EC is mapped in "
        f"'ex.yaml'; name the file ec.yaml"
    )


def test_unknown_derivation(tmp_path):
    study, text = broken(tmp_path, "sdtm/ae.yaml", "derive: [study_day, epoch, seq]", "derive: [studyday, epoch, seq]")
    line = line_of(text, "derive:")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line} derive[0]: 'studyday' is not one of: seq, study_day, "
        f"epoch, reference_dates, reference_range_indicator (did you mean 'study_day'?)"
    )


def test_unknown_study_yaml_key(tmp_path):
    study, text = broken(tmp_path, "study.yaml", "reference_dates:", "reference_date:")
    with pytest.raises(MappingError) as info:
        load_study(study)
    assert str(info.value) == (
        f"mappings/NCI84/study.yaml:{line_of(text, 'reference_date:')}: unknown key "
        f"'reference_date' (did you mean 'reference_dates'?)"
    )


def test_check_lists_every_schema_problem(tmp_path, monkeypatch):
    from sdtmify.check import check_study

    study = write_mini(tmp_path)
    for file, old, new in (
        ("ae.yaml", "{iso8601: onset_date,", "{iso8061: onset_date,"),
        ("ex.yaml", "as: num", "as: number"),
    ):
        path = study / "sdtm" / file
        path.write_text(path.read_text().replace(old, new, 1))
    messages = check_study(str(study))
    assert len(messages) == 2
    assert messages[0].startswith("mappings/NCI84/sdtm/ae.yaml:") and "unknown key 'iso8061'" in messages[0]
    assert (
        messages[1].startswith("mappings/NCI84/sdtm/ex.yaml:")
        and "'number' is not one of: char, num, integer" in messages[1]
    )


def test_keys_that_do_not_identify_each_record(tmp_path):
    study, text = broken(
        tmp_path, "sdtm/lb.yaml", "keys: [STUDYID, USUBJID, LBTESTCD, LBDTC]", "keys: [STUDYID, USUBJID, LBTESTCD]"
    )
    line = line_of(text, "keys:")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/lb.yaml:{line} keys: LB: 2 records share their keys STUDYID, USUBJID, LBTESTCD "
        f"(e.g. STUDYID='NCI84', USUBJID='NCI84-001-A', LBTESTCD='IFNG': labs row 1, labs row 2); the keys must "
        f"identify each record: add a key (e.g. --DTC, VISITNUM, --TPTNUM) to 'keys'"
    )


def test_key_that_is_not_a_variable(tmp_path):
    study, text = broken(
        tmp_path,
        "sdtm/lb.yaml",
        "keys: [STUDYID, USUBJID, LBTESTCD, LBDTC]",
        "keys: [STUDYID, USUBJID, LBTESTCD, LBDTTC]",
    )
    line = line_of(text, "keys:")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/lb.yaml:{line} keys: key LBDTTC is not a variable of LB (did you mean 'LBDTC'?)"
    )


def test_arm_needs_the_actual_arm_rule_declared(tmp_path):
    from sdtmify.check import check_study

    study, text = broken(tmp_path, "sdtm/dm.yaml", "      actual: planned", "")
    messages = check_study(str(study))
    line = line_of(text, "- arm:")
    assert messages == [f"mappings/NCI84/sdtm/dm.yaml:{line} derive[1].arm: missing required key 'actual'"]


def test_baseline_flag_needs_the_sponsor_definition(tmp_path):
    study, text = broken(tmp_path, "sdtm/lb.yaml", "flags: [LOBXFL]}", "flags: [LOBXFL, BLFL]}")
    line = line_of(text, "- baseline:")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/lb.yaml:{line} derive[6].baseline: flags lists BLFL but the "
        f"baseline definition is missing: add 'blfl: LOBXFL' when LBBLFL marks the same "
        f"records as LBLOBXFL"
    )


def test_text_in_a_num_variable_names_the_source_row_and_the_mapping_line(tmp_path):
    study, text = broken(tmp_path, "sdtm/ex.yaml", "  EXDOSE:   {column: dose, as: num}", "  EXDOSE:   {column: dose}")
    source = study / "source" / "dosing.csv"
    source.write_text(source.read_text().replace(",4,mg/kg", ",four,mg/kg", 1))
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ex.yaml:{line_of(text, 'EXDOSE:')} EXDOSE: EX.EXDOSE (Dose) is "
        f"Num but has text values 'four' (record 5 USUBJID=NCI84-001-A EXSEQ=5 source dosing "
        f"row 1); map them to numbers, or put the text in a Char variable (e.g. --ORRES/--STRESC)"
    )


def test_declared_length_too_short_points_at_the_length_key(tmp_path):
    study, text = broken(
        tmp_path, "sdtm/ae.yaml", "  AETERM:   {column: ae_term}", "  AETERM:   {column: ae_term, length: 3}"
    )
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line_of(text, 'AETERM:')} AETERM.length: AE.AETERM: "
        f"declared length 3 is shorter than its longest value (19 bytes) in record 1 USUBJID=NCI84-001-A "
        f"AESEQ=1 source adverse_events row 2; record 2 USUBJID=NCI84-001-A AESEQ=2 source adverse_events "
        f"row 1; record 3 USUBJID=NCI84-001-E AESEQ=1 source adverse_events row 3; raise the declared "
        f"length or shorten the values"
    )


def test_supplemental_qualifier_without_a_label(tmp_path):
    study, text = broken(tmp_path, "sdtm/ae.yaml", ', label: "Dose-Limiting Toxicity"', "")
    assert error_of(study) == (
        f"mappings/NCI84/sdtm/ae.yaml:{line_of(text, 'AEDLT:')} supp.AEDLT: needs a 'label' "
        f"(QLABEL, at most 40 characters)"
    )


def test_output_timestamp_that_is_not_iso_8601(tmp_path):
    study, text = broken(tmp_path, "study.yaml", 'timestamp: "2026-01-01T00:00:00"', 'timestamp: "01/01/2026"')
    with pytest.raises(MappingError) as info:
        load_study(study)
    assert str(info.value) == (
        f"mappings/NCI84/study.yaml:{line_of(text, 'timestamp:')} output.timestamp: '01/01/2026' does not "
        f"match an ISO 8601 date or date/time, quoted (YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss]): "
        f"the build time stamped into every output"
    )


def test_output_timestamp_that_is_no_calendar_date(tmp_path):
    study, text = broken(tmp_path, "study.yaml", 'timestamp: "2026-01-01T00:00:00"', 'timestamp: "2026-02-30"')
    with pytest.raises(InputError) as info:
        load_study(study)
    assert str(info.value) == (
        f"mappings/NCI84/study.yaml:{line_of(text, 'timestamp:')} output.timestamp: '2026-02-30' is not a "
        f"valid date/time (day is out of range for month); write it as YYYY-MM-DD or "
        f"YYYY-MM-DDThh:mm:ss"
    )


def test_xpt_transliterate_must_be_true_or_false(tmp_path):
    study, text = broken(
        tmp_path, "study.yaml", 'xpt: {sas_version: "9.4"}', 'xpt: {sas_version: "9.4", transliterate: "yes"}'
    )
    with pytest.raises(MappingError) as info:
        load_study(study)
    assert str(info.value) == (
        f"mappings/NCI84/study.yaml:{line_of(text, 'transliterate')} output.xpt.transliterate: 'yes' "
        f"should be a boolean"
    )


def test_check_reads_the_adam_specs_analysis_results_and_report(tmp_path):
    from sdtmify.check import check_study

    study = write_mini(tmp_path)
    source = ROOT / "mappings" / "NCI84"
    (study / "adam").mkdir()
    for path in (source / "adam").glob("*.yaml"):
        (study / "adam" / path.name).write_text(path.read_text())
    edits = {
        "adam/adrs.yaml": ("class: BDS", "class: BDSX"),
        "adam/analysis_results.yaml": ("    results:\n", "    outcomes:\n"),
        "report.yaml": ("subject: USUBJID", "subjects: USUBJID"),
    }
    (study / "report.yaml").write_text((source / "report.yaml").read_text())
    texts = {}
    for file, (old, new) in edits.items():
        text = (study / file).read_text()
        assert old in text
        texts[file] = text.replace(old, new, 1)
        (study / file).write_text(texts[file])
    assert check_study(str(study)) == [
        f"mappings/NCI84/adam/adrs.yaml:{line_of(texts['adam/adrs.yaml'], 'class:')} class: 'BDSX' is not one of: "
        f"ADSL, BDS, TTE, OCCDS (did you mean 'BDS'?)",
        f"mappings/NCI84/adam/analysis_results.yaml:{line_of(texts['adam/analysis_results.yaml'], '- id: BOR')} "
        f"results: missing required key 'results'",
        f"mappings/NCI84/report.yaml:{line_of(texts['report.yaml'], 'title:')}: missing required key 'subject'",
        f"mappings/NCI84/report.yaml:{line_of(texts['report.yaml'], 'subjects:')}: unknown key 'subjects' "
        f"(did you mean 'subject'?)",
    ]


def test_check_reports_every_data_problem_in_one_run(tmp_path):
    from sdtmify.check import check_study

    study = write_mini(tmp_path)
    for file, old, new in (
        ("ae.yaml", "AETERM:   {column: ae_term}", "AETERM:   {column: ae_trm}"),
        ("ae.yaml", "{iso8601: onset_date,", "{iso8601: onset_dt,"),
        ("ds.yaml", "{iso8601: consent_date}", "{iso8601: consent_dt}"),
    ):
        path = study / "sdtm" / file
        assert old in path.read_text(), old
        path.write_text(path.read_text().replace(old, new, 1))
    ae, ds = ((study / "sdtm" / f).read_text() for f in ("ae.yaml", "ds.yaml"))
    assert check_study(str(study)) == [
        f"mappings/NCI84/sdtm/ae.yaml:{line_of(ae, 'AETERM:')} AETERM: column 'ae_trm' not in source "
        f"'adverse_events' (did you mean 'ae_term'?)",
        f"mappings/NCI84/sdtm/ae.yaml:{line_of(ae, 'AESTDTC:')} AESTDTC: column 'onset_dt' not in source "
        f"'adverse_events' (did you mean 'onset_date'?)",
        f"mappings/NCI84/sdtm/ds.yaml:{line_of(ds, 'consent_dt')} parts[0].variables.DSSTDTC: column 'consent_dt' "
        f"not in source 'subjects' (did you mean 'consent_date'?)",
    ]


def test_check_caps_the_list(tmp_path):
    from sdtmify.check import check_study

    study = write_mini(tmp_path)
    path = study / "sdtm" / "ae.yaml"
    path.write_text(path.read_text().replace("{column: ae_term}", "{column: ae_trm}").replace("onset_date,", "x,"))
    assert len(check_study(str(study))) == 2
    capped = check_study(str(study), limit=1)
    assert capped[1] == "... and 1 more problems (the first 1 are shown)"
