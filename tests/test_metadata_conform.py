"""conform_dataset and check_codelists: the IG's order, core rules, types, lengths and CT checks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sdtmify.errors import MetadataError
from sdtmify.metadata.conform import TextProfile, check_codelists, conform_dataset, significant_digits
from sdtmify.metadata.ct import load_ct
from sdtmify.metadata.model import Condition, Origin, ValueLevel
from sdtmify.metadata.standards import adam_dataset, sdtm_dataset


def _ae(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "AETERM": ["NAUSEA", "FATIGUE", "RASH"],
            "USUBJID": ["84-001", "84-001", "84-002"],
            "AESEQ": [1, 2, 1],
            "AEDECOD": ["Nausea", "Fatigue", "Rash"],
            "STUDYID": ["NCI84"] * 3,
            "DOMAIN": ["AE"] * 3,
            "AESEV": [None, None, np.nan],
            "AETOXGR": [2, 3, 1],
            "AESER": ["N", "N", "Y"],
            "AESTDTC": ["2005-01-02", "2005-02", ""],
        }
    )
    for name, values in overrides.items():
        frame[name] = values
    return frame


def test_variables_follow_the_ig_order():
    frame, meta = conform_dataset(_ae(), sdtm_dataset("AE"))
    assert list(frame.columns) == list(meta.variable_names)
    assert meta.variable_names[:6] == ("STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AELLT")
    assert (
        meta.variable_names.index("AEDECOD")
        < meta.variable_names.index("AESER")
        < meta.variable_names.index("AETOXGR")
        < meta.variable_names.index("AESTDTC")
    )
    assert [var.order for var in meta.variables] == list(range(1, len(meta.variables) + 1))


def test_null_required_value_is_refused_naming_dataset_variable_and_records():
    frame = _ae(AETERM=["NAUSEA", " ", None])
    lineage = pd.DataFrame({"SRCTABLE": ["adverse_events"] * 3, "SRCROW": [4, 5, 9]})
    with pytest.raises(MetadataError) as caught:
        conform_dataset(frame, sdtm_dataset("AE"), lineage=lineage)
    assert str(caught.value) == (
        "AE: Required variable AETERM (Reported Term for the Adverse Event) is null in 2 of 3 records: "
        "record 2 USUBJID=84-001 AESEQ=2 source adverse_events row 5; "
        "record 3 USUBJID=84-002 AESEQ=1 source adverse_events row 9. "
        "SDTMIG 3.4 requires a value in every record; map one or drop those records"
    )


def test_absent_required_variable_is_refused():
    with pytest.raises(MetadataError, match=r"^AE: Required variable AEDECOD missing; map a value for each$"):
        conform_dataset(_ae().drop(columns="AEDECOD"), sdtm_dataset("AE"))


def test_all_null_permissible_variable_is_dropped_with_a_note_unless_kept():
    notes: list[str] = []
    frame, meta = conform_dataset(_ae(), sdtm_dataset("AE"), notes=notes)
    assert "AESEV" not in frame.columns and "AESEV" not in meta.variable_names
    assert "AE.AESEV (Severity/Intensity) is Perm and has no values: dropped" in notes
    frame, meta = conform_dataset(_ae(), sdtm_dataset("AE"), keep=["AESEV"])
    assert frame["AESEV"].tolist() == ["", "", ""] and meta.variable("AESEV").length == 1


def test_absent_expected_variable_is_added_empty_with_a_note():
    notes: list[str] = []
    frame, meta = conform_dataset(_ae(), sdtm_dataset("AE"), notes=notes)
    assert frame["AEENDTC"].tolist() == ["", "", ""]
    assert frame["AEPTCD"].isna().all() and frame["AEPTCD"].dtype == np.float64
    assert "AE.AEENDTC (End Date/Time of Adverse Event) is Expected: added with no values" in notes
    assert meta.variable("AEENDTC").length == 1


def test_non_standard_sdtm_variable_is_refused_and_sent_to_supp():
    with pytest.raises(
        MetadataError,
        match=r"^AE: AEDLT is not an SDTMIG 3.4 AE variable; non-standard "
        r"variables go in SUPPAE",
    ):
        conform_dataset(_ae(AEDLT=["Y", "N", "N"]), sdtm_dataset("AE"))


def test_char_values_are_text_with_empty_missing_and_num_float64():
    frame, meta = conform_dataset(_ae(), sdtm_dataset("AE"))
    assert frame["AETOXGR"].tolist() == ["2", "3", "1"]
    assert frame["AESTDTC"].tolist() == ["2005-01-02", "2005-02", ""]
    assert frame["AESEQ"].dtype == np.float64 and frame["AESEQ"].tolist() == [1.0, 2.0, 1.0]
    assert pd.api.types.is_string_dtype(frame["AETERM"].dtype)
    assert (meta.variable("AESEQ").type, meta.variable("AESEQ").length) == ("Num", 8)


def test_numeric_text_is_converted_and_non_numeric_text_refused():
    lb = pd.DataFrame(
        {
            "STUDYID": ["S"] * 3,
            "DOMAIN": ["LB"] * 3,
            "USUBJID": ["S-1"] * 3,
            "LBSEQ": [1, 2, 3],
            "LBTESTCD": ["IFNG"] * 3,
            "LBTEST": ["Interferon Gamma"] * 3,
            "LBSTRESN": ["12.5", "", "7"],
        }
    )
    frame, meta = conform_dataset(lb, sdtm_dataset("LB"))
    assert frame["LBSTRESN"].tolist()[0] == 12.5 and np.isnan(frame["LBSTRESN"].iloc[1])
    assert (meta.variable("LBSTRESN").data_type, meta.variable("LBSTRESN").significant_digits) == ("float", 1)
    lb["LBSTRESN"] = ["12.5", "<10", "7"]
    with pytest.raises(
        MetadataError,
        match=r"LB.LBSTRESN \(Numeric Result/Finding in Standard Units\) is Num but "
        r"has text values '<10' \(record 2 USUBJID=S-1 LBSEQ=2\)",
    ):
        conform_dataset(lb, sdtm_dataset("LB"))


def test_lengths_are_utf8_bytes_unless_declared():
    frame, meta = conform_dataset(
        _ae(AETERM=["ÉCZÉMA", "FATIGUE", "RASH"]), sdtm_dataset("AE"), lengths={"AEDECOD": 200}
    )
    assert meta.variable("AETERM").length == 8  # ÉCZÉMA: 6 characters, 8 bytes
    assert meta.variable("AEDECOD").length == 200
    assert meta.variable("USUBJID").length == 6
    with pytest.raises(
        MetadataError,
        match=r"AE.AETERM: declared length 4 is shorter than its longest value "
        r"\(8 bytes\)",
    ):
        conform_dataset(_ae(AETERM=["ÉCZÉMA", "FATIGUE", "RASH"]), sdtm_dataset("AE"), lengths={"AETERM": 4})


def test_integer_template_with_fractions_becomes_float():
    notes: list[str] = []
    dm = pd.DataFrame(
        {
            "STUDYID": ["S", "S"],
            "DOMAIN": ["DM", "DM"],
            "USUBJID": ["S-1", "S-2"],
            "SUBJID": ["1", "2"],
            "SITEID": ["01", "01"],
            "SEX": ["F", "M"],
            "COUNTRY": ["USA", "USA"],
            "AGE": [54.5, 61],
        }
    )
    _, meta = conform_dataset(dm, sdtm_dataset("DM"), notes=notes)
    assert (meta.variable("AGE").data_type, meta.variable("AGE").significant_digits) == ("float", 1)
    assert "DM.AGE has non-integer values: DataType float" in notes
    dm["AGE"] = [54, 61]
    _, meta = conform_dataset(dm, sdtm_dataset("DM"))
    assert (meta.variable("AGE").data_type, meta.variable("AGE").significant_digits) == ("integer", None)


def test_significant_digits_counts_decimals():
    assert significant_digits(pd.Series([1.25, 3.5, np.nan])) == 2
    assert significant_digits(pd.Series([100.0, 2.0])) == 0
    assert significant_digits(pd.Series([0.1 + 0.2])) == 1


@pytest.mark.parametrize("dtype", ["str", object])
def test_text_profile_counts_nan_and_blanks_as_missing_and_measures_utf8_bytes(dtype):
    profile = TextProfile.of(pd.Series(["Y", " ", "", None, "Résumé", "Y"], dtype=dtype))
    assert profile.missing.tolist() == [False, True, True, True, False, False]
    assert profile.longest == 8  # "Résumé": 6 characters, 8 bytes
    assert profile.has_nan
    assert profile.distinct == {"Y", " ", "", "Résumé"}
    whole = TextProfile.of(pd.Series(["N", "Y"], dtype=dtype))
    assert (whole.missing.tolist(), whole.longest, whole.has_nan, whole.distinct) == (
        [False, False],
        1,
        False,
        {"N", "Y"},
    )


def test_origins_methods_and_keys_are_set():
    origin = Origin(type="Collected", source="Investigator")
    _, meta = conform_dataset(_ae(), sdtm_dataset("AE"), origins={"AETERM": origin}, methods={"AESEQ": "MT.SEQ"})
    assert meta.variable("AETERM").origin == origin and meta.variable("AESEQ").method == "MT.SEQ"
    assert meta.keys == ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC")
    assert [meta.variable(k).key_sequence for k in meta.keys] == [1, 2, 3, 4]
    assert meta.variable("AETERM").key_sequence is None


def _adsl() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USUBJID": ["84-001", "84-002"],
            "STUDYID": ["NCI84"] * 2,
            "SUBJID": ["001", "002"],
            "SITEID": ["01"] * 2,
            "AGE": [51, 62],
            "AGEU": ["YEARS"] * 2,
            "SEX": ["F", "F"],
            "RACE": ["WHITE"] * 2,
            "ARM": ["Cohort 1"] * 2,
            "ACTARM": ["Cohort 1"] * 2,
            "TRT01P": ["Cohort 1"] * 2,
            "TRTSDT": pd.to_datetime(["1960-01-01", "2005-01-02"]),
            "BOR": ["PR", "SD"],
            "DLTFL": ["N", "Y"],
        }
    )


def test_adam_sponsor_variables_follow_the_standard_ones():
    frame, meta = conform_dataset(
        _adsl(),
        adam_dataset("ADSL", "ADSL"),
        extra={"BOR": "Best Overall Response", "DLTFL": "Dose-Limiting Toxicity Flag"},
    )
    assert meta.variable_names[-2:] == ("BOR", "DLTFL")
    assert meta.variable_names[:2] == ("STUDYID", "USUBJID")
    assert (meta.variable("BOR").label, meta.variable("BOR").type, meta.variable("BOR").length) == (
        "Best Overall Response",
        "Char",
        2,
    )
    assert frame["TRTSDT"].tolist() == [0.0, 16438.0]  # SAS dates: days since 1960-01-01
    assert meta.variable("TRTSDT").format == "DATE9."


def test_unlabelled_adam_sponsor_variable_is_refused():
    with pytest.raises(MetadataError, match=r"ADSL.BOR is not an ADaMIG variable.*give it a label"):
        conform_dataset(_adsl(), adam_dataset("ADSL", "ADSL"), extra={"DLTFL": "Dose-Limiting Toxicity Flag"})


def test_adam_label_over_40_characters_is_refused():
    with pytest.raises(MetadataError, match="labels at most 40"):
        conform_dataset(
            _adsl(), adam_dataset("ADSL", "ADSL"), extra={"BOR": "B" * 41, "DLTFL": "Dose-Limiting Toxicity Flag"}
        )


@pytest.fixture(scope="module")
def ct():
    return load_ct()


def test_value_outside_non_extensible_codelist_is_an_error(ct):
    frame, meta = conform_dataset(_ae(AESER=["N", "YES", "YES"]), sdtm_dataset("AE"))
    findings = check_codelists(frame, meta, ct)
    assert len(findings) == 1
    finding = findings[0]
    assert (
        finding.rule,
        finding.severity,
        finding.variable,
        finding.codelist,
        finding.value,
        finding.count,
        finding.first_record,
    ) == ("CT2001", "error", "AESER", "CL.NY", "YES", 2, 2)
    assert "non-extensible codelist No Yes Response (C66742)" in finding.message


def _lb(codes):
    return pd.DataFrame(
        {
            "STUDYID": "S",
            "DOMAIN": "LB",
            "USUBJID": "S-1",
            "LBSEQ": range(1, len(codes) + 1),
            "LBTESTCD": codes,
            "LBTEST": ["x"] * len(codes),
        }
    )


def test_undeclared_extension_of_extensible_codelist_is_a_warning(ct):
    template = replace(
        sdtm_dataset("LB"),
        variables=tuple(
            replace(var, codelist=None) if var.name == "LBTEST" else var for var in sdtm_dataset("LB").variables
        ),
    )
    frame, meta = conform_dataset(_lb(["INTLK8", "CCL3", "CCL3", "CCL5"]), template)
    findings = check_codelists(frame, meta, ct)
    assert [(f.rule, f.severity, f.value, f.count, f.first_record) for f in findings] == [
        ("CT2002", "warning", "CCL3", 2, 2),
        ("CT2002", "warning", "CCL5", 1, 4),
    ]
    assert check_codelists(frame, meta, ct, extensions={"LBTESTCD": ["CCL3", "CCL5"]}) == []
    declared = ct.subset("LBTESTCD", frame["LBTESTCD"], sponsor_extensions=["CCL3"])
    assert [f.value for f in check_codelists(frame, meta, ct, extensions=[declared])] == []
    partly = ct.subset("LBTESTCD", ["INTLK8", "CCL3"], sponsor_extensions=["CCL3"])
    assert [f.value for f in check_codelists(frame, meta, ct, extensions=[partly])] == ["CCL5"]


def test_external_dictionary_values_are_not_checked(ct):
    frame, meta = conform_dataset(_ae(), sdtm_dataset("AE"))
    assert meta.variable("AEDECOD").codelist == "CL.MEDDRA"
    assert check_codelists(frame, meta, ct) == []


def test_value_level_codelist_applies_only_where_its_condition_holds(ct):
    rs = pd.DataFrame(
        {
            "STUDYID": "S",
            "DOMAIN": "RS",
            "USUBJID": "S-1",
            "RSSEQ": [1, 2],
            "RSTESTCD": ["OVRLRESP", "ECOG"],
            "RSTEST": ["Overall Response", "ECOG"],
            "RSORRES": ["PARTIAL", "1"],
        }
    )
    frame, meta = conform_dataset(rs, sdtm_dataset("RS"))
    level = ValueLevel(
        where=(Condition("RSTESTCD", ("OVRLRESP",)),),
        name="RSORRES",
        label="Overall Response",
        data_type="text",
        codelist="CL.ONCRSR",
    )
    meta = replace(
        meta, variables=tuple(replace(v, value_levels=(level,)) if v.name == "RSORRES" else v for v in meta.variables)
    )
    findings = [f for f in check_codelists(frame, meta, ct) if f.variable == "RSORRES"]
    assert [(f.rule, f.value, f.first_record) for f in findings] == [("CT2002", "PARTIAL", 1)]


def test_adam_numbered_family_members_take_their_label_from_the_template():
    adsl = _adsl().assign(TRT02P=["Cohort 1 + IL-12"] * 2, AGEGR2=["<65", "<65"])
    frame, meta = conform_dataset(
        adsl,
        adam_dataset("ADSL", "ADSL"),
        extra={"BOR": "Best Overall Response", "DLTFL": "Dose-Limiting Toxicity Flag"},
    )
    assert meta.variable("TRT02P").label == "Planned Treatment for Period 02"
    assert meta.variable("AGEGR2").label == "Pooled Age Group 2"
    names = meta.variable_names
    assert names.index("TRT01P") < names.index("TRT02P") < names.index("TRTSDT")
    assert names[-2:] == ("BOR", "DLTFL")
    adlb = pd.DataFrame(
        {
            "STUDYID": ["S"],
            "USUBJID": ["S-1"],
            "PARAM": ["Interleukin 8 (pg/mL)"],
            "PARAMCD": ["INTLK8"],
            "AVAL": [12.0],
            "ANL01FL": ["Y"],
            "ANL02FL": ["Y"],
        }
    )
    _, meta = conform_dataset(adlb, adam_dataset("ADLB", "BDS"))
    assert meta.variable("ANL02FL").label == "Analysis Flag 02" and meta.variable("ANL02FL").codelist == "CL.NY"
    assert meta.variable_names.index("ANL02FL") == meta.variable_names.index("ANL01FL") + 1


def test_an_empty_domain_keeps_its_required_and_expected_variables():
    empty = _ae().iloc[0:0]
    frame, meta = conform_dataset(empty, sdtm_dataset("AE"))
    assert len(frame) == 0
    assert {"STUDYID", "AETERM", "AEDECOD", "AESTDTC", "AEENDTC"} <= set(meta.variable_names)
    # with no records nothing says a mapped Permissible variable was not collected: it stays (ADaM needs it)
    assert "AESEV" in meta.variable_names
    assert "AESEV" not in conform_dataset(_ae(), sdtm_dataset("AE"))[1].variable_names  # null in every record
    assert meta.variable("AETERM").length == 1  # at least 1 byte (XPT needs a length)


# ---- declared metadata (an imported spec) ----------------------------------------------------
def _declared_case():
    from sdtmify.metadata.model import Method, StudyMetadata

    frame, meta = conform_dataset(_ae(), sdtm_dataset("AE"))
    derived = StudyMetadata(study_oid="S", study_name="S", description="", protocol_name="", datasets=(meta,))
    return frame, meta, derived, Method


def test_declared_label_method_and_length_are_applied():
    from sdtmify.metadata.conform import apply_declared_metadata

    frame, meta, derived, Method = _declared_case()
    aeterm = replace(meta.variable("AETERM"), label="Verbatim Term", length=60, method="MT.AE.AETERM")
    stated = replace(meta, variables=tuple(aeterm if v.name == "AETERM" else v for v in meta.variables))
    spec = replace(derived, datasets=(stated,), methods=(Method("MT.AE.AETERM", "Algorithm", "As collected."),))
    result, notes = apply_declared_metadata(derived, {"AE": frame}, spec, "spec/sdtm.json")
    variable = result.dataset("AE").variable("AETERM")
    assert (variable.label, variable.length, variable.method) == ("Verbatim Term", 60, "MT.AE.AETERM")
    assert [m.description for m in result.methods] == ["As collected."]
    assert result.dataset("AE").variable("AESER") == meta.variable("AESER")
    assert notes == []


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"label": "X" * 41},
            "AE.AETERM: label 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX' must have 1 to 40 characters (SAS XPT v5)",
        ),
        (
            {"length": 6},
            "AE.AETERM: the spec's length 6 is shorter than the longest value in the data (7 bytes); raise "
            "the length in the spec to at least 7",
        ),
        (
            {"type": "Num"},
            "AE.AETERM: the spec says Num but the data are Char; the type comes from the data: correct "
            "the spec's SAS Type",
        ),
        ({"method": "MT.NOWHERE"}, "AE.AETERM: method MT.NOWHERE is not defined on the spec's Methods sheet"),
    ],
)
def test_declared_metadata_that_contradicts_the_data_is_refused(change, message):
    from sdtmify.metadata.conform import apply_declared_metadata

    frame, meta, derived, _ = _declared_case()
    aeterm = replace(meta.variable("AETERM"), **change)
    stated = replace(meta, variables=tuple(aeterm if v.name == "AETERM" else v for v in meta.variables))
    with pytest.raises(MetadataError) as info:
        apply_declared_metadata(derived, {"AE": frame}, replace(derived, datasets=(stated,)), "spec/sdtm.json")
    assert str(info.value) == f"spec/sdtm.json: {message}"
