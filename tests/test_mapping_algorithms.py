"""The registry of mapping algorithms: schema fragments as the one source of truth, and each new
algorithm on small frames (values and the messages a user sees, with file:line and key path)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdtmify import isodates, yamlio
from sdtmify.errors import MappingError
from sdtmify.mapping import algorithms, expressions
from sdtmify.mapping.algorithms import base
from sdtmify.mapping.algorithms.iso8601 import parse_dates, strftime_regex
from sdtmify.mapping.context import MappingContext
from sdtmify.yamlio import LineDict


class Study:
    def __init__(self, **tables):
        self.tables = {name: pd.DataFrame(cols) for name, cols in tables.items()}

    def source(self, name):
        return self.tables[name]


def context(study=None, **columns) -> MappingContext:
    rows = pd.DataFrame(columns)
    rows["SRCROW"] = np.arange(1, len(rows) + 1)
    document = LineDict({"variables": LineDict({"X": LineDict()})})
    document.line, document.key_lines = 1, {"variables": 7}
    document["variables"].line, document["variables"].key_lines = 7, {"X": 8}
    document["variables"]["X"].line, document["variables"]["X"].key_lines = 8, {}
    return MappingContext(study=study, file="t.yaml", document=document, rows=rows, source_name="src")


def run(spec, ctx):
    return expressions.evaluate(spec, ctx, ["variables", "X"]).tolist()


def error(spec, ctx) -> str:
    with pytest.raises(MappingError) as info:
        expressions.evaluate(spec, ctx, ["variables", "X"])
    return str(info.value)


# --- the registry ---------------------------------------------------------------------------------


def test_schema_file_is_generated_from_the_fragments():
    schema = yamlio.load_schema("mapping")
    assert schema["$defs"]["expression"]["properties"] == algorithms.expression_properties()


def test_every_algorithm_states_its_rule_and_method():
    for algorithm in [*algorithms.OPERATIONS.values(), *algorithms.MODIFIERS.values()]:
        assert "SDTMIG" in algorithm.function.__doc__, algorithm.name
        assert algorithm.method.endswith("."), algorithm.name
        assert algorithm.origin in ("Collected", "Derived", "Assigned"), algorithm.name


def test_a_second_algorithm_cannot_claim_a_taken_key():
    clash = base.Algorithm("copy", lambda s, c, p: None, {"copy": {}, "of": {}, "time": {}}, "Copied.")
    with pytest.raises(ValueError, match="key\\(s\\) time already belong"):
        base.register(clash)
    assert "copy" not in algorithms.OPERATIONS


def test_two_operations_name_both():
    assert error({"column": "a", "constant": "x"}, context(a=["1"])) == (
        "t.yaml:8 X: needs exactly one operation; found column and constant"
    )


def test_derived_origin_gets_the_algorithms_method_text():
    assert expressions.method_text({"split_part": {}}) == (
        "Taken from the collected text as the stated part between separators."
    )
    assert expressions.method_text({"template": ""}) == (
        "Built by joining fixed text with the values named in the template; blank when any of those values is blank."
    )
    assert expressions.method_text({"template": "", "method": "Mine."}) == "Mine."


# --- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "form,raw,iso",
    [
        ("DATE9", "04MAR2021", "2021-03-04"),
        ("DATE9", "4mar2021", "2021-03-04"),
        ("DATE9", "UNMAR2021", "2021-03"),
        ("DATE11", "04-MAR-2021", "2021-03-04"),
        ("DATETIME20", "04MAR2021:10:30:00", "2021-03-04T10:30:00"),
        ("DDMMYY10", "15/03/2014", "2014-03-15"),
        ("DDMMYY10", "UN/03/2014", "2014-03"),
        ("MMDDYY10", "03-15-2014", "2014-03-15"),
        ("MMDDYY10", "03/15/2014", "2014-03-15"),
        ("YYMMDD10", "2014/03/15", "2014-03-15"),
        ("MONYY7", "MAR2014", "2014-03"),
        ("YEAR4", "2014", "2014"),
        ("E8601DA", "2014-03-15", "2014-03-15"),
        ("E8601DT", "2014-03-15T08:05", "2014-03-15T08:05"),
        ("%Y%m%d%H%M", "201403150805", "2014-03-15T08:05"),
        ("%d %b %Y", "UNK UNK 2020", "2020"),
        ("excel", "1", "1900-01-01"),
        ("excel", "60.5", None),
    ],
)
def test_date_forms(form, raw, iso):
    if iso is None:
        with pytest.raises(isodates.DateProblem, match="Excel's invented 1900-02-29"):
            parse_dates(pd.Series([raw]), [form])
    else:
        assert parse_dates(pd.Series([raw]), [form]).tolist() == [iso]


def test_excel_serials_after_the_invented_leap_day_are_corrected():
    # 61 is 1900-03-01 in Excel; 45000 is 2023-03-15 (checked against the 1900 date system)
    assert parse_dates(pd.Series(["61", "45000", "45000.75"]), ["excel"]).tolist() == [
        "1900-03-01",
        "2023-03-15",
        "2023-03-15T18:00",
    ]


def test_forms_are_tried_in_order_and_day_first_is_declared():
    raw = pd.Series(["03/04/2014", "28FEB2014"])
    assert parse_dates(raw, ["DDMMYY10", "DATE9"]).tolist() == ["2014-04-03", "2014-02-28"]
    assert parse_dates(raw, ["MMDDYY10", "DATE9"]).tolist() == ["2014-03-04", "2014-02-28"]


def test_a_separate_time_column_joins_complete_dates_only():
    dates = pd.Series(["04MAR2021", "UNMAR2021", "04MAR2021"])
    times = pd.Series(["0830", "09:00", "25:00"])
    with pytest.raises(isodates.DateProblem, match="impossible time of day"):
        parse_dates(dates, ["DATE9"], times)
    assert parse_dates(dates[:2], ["DATE9"], times[:2]).tolist() == ["2021-03-04T08:30", "2021-03"]


def test_date_errors_name_row_value_and_key():
    ctx = context(d=["04MAR2021", "31FEB2021", "31FEB2021"])
    assert error({"iso8601": "d", "formats": ["DATE9"]}, ctx) == (
        "t.yaml:8 X: row 2 of source 'src' column 'd': '31FEB2021' is an impossible date (2 values in all); "
        "correct the source or list its form in 'formats'"
    )
    assert error({"iso8601": "d", "formats": ["MMDDYY10"]}, context(d=["2021-03-04"])) == (
        "t.yaml:8 X: row 1 of source 'src' column 'd': '2021-03-04' is not a date in the forms MMDDYY10; "
        "correct the source or list its form in 'formats'"
    )


def test_a_strftime_directive_not_read_is_refused():
    with pytest.raises(ValueError, match="'%j' is not a directive"):
        strftime_regex("%Y-%j")
    assert "is not a directive sdtmify reads" in error({"iso8601": "d", "formats": ["%Y-%j"]}, context(d=["2021-5"]))


def test_builtin_forms_keep_their_behaviour():
    raw = pd.Series(["07-APR-2004", "UN-APR-2004", "2004-04-07T10:30"])
    formats = ["dd-mon-yyyy", "iso"]
    assert (
        run({"iso8601": "d", "formats": formats}, context(d=raw.tolist())) == isodates.to_iso8601(raw, formats).tolist()
    )


# --- strings --------------------------------------------------------------------------------------


def test_split_part_from_either_end_and_missing_parts():
    ctx = context(ref=["01-701-1015", "1015", ""])
    assert run({"split_part": {"of": "ref", "sep": "-", "part": -1}}, ctx) == ["1015", "1015", ""]
    assert run({"split_part": {"of": "ref", "sep": "-", "part": 2}}, ctx) == ["701", "", ""]


def test_substring_without_length_runs_to_the_end():
    assert run({"substring": {"of": "ref", "start": 5}}, context(ref=["701-1015", "70"])) == ["1015", ""]


def test_regex_extract_required_names_the_row():
    ctx = context(v=["Week 4", "Baseline"])
    spec = {"regex_extract": {"of": "v", "pattern": "Week (\\d+)", "required": True}}
    assert error(spec, ctx) == "t.yaml:8 X.regex_extract.pattern: 'Baseline' does not match 'Week (\\d+)' (row 2)"
    assert run({"regex_extract": {"of": "v", "pattern": "W\\w+"}}, ctx) == ["Week", ""]


def test_bad_regular_expression_is_reported():
    assert error({"regex_replace": {"of": "v", "pattern": "(", "with": ""}}, context(v=["a"])).startswith(
        "t.yaml:8 X.regex_replace.pattern: bad regular expression '('"
    )


def test_concat_of_expressions_and_blank_policies():
    ctx = context(a=["x", "", "x"], b=["y", "y", ""])
    spec = {"concat": {"of": ["a", {"column": "b", "transform": "upper"}], "sep": "/"}}
    assert run(spec, ctx) == ["x/Y", "Y", "x"]
    spec["concat"]["blanks"] = "blank"
    assert run(spec, ctx) == ["x/Y", "", ""]


def test_pad_right_with_blanks():
    assert run({"pad": {"of": "v", "width": 4, "fill": " ", "side": "right"}}, context(v=["ab", ""])) == ["ab  ", ""]


# --- lookups --------------------------------------------------------------------------------------


def lookup_study():
    return Study(codes={"k": ["a", "A ", "b"], "v": ["first", "second", "third"]})


def test_lookup_duplicates_first_last_and_error():
    spec = {"lookup": {"source": "codes", "on": {"key": "k"}, "column": "v", "case": "insensitive"}}
    ctx = context(lookup_study(), key=["a", "B", "c"])
    assert error(spec, ctx) == (
        "t.yaml:8 X.lookup: source 'codes' has several rows for ['a']; a lookup needs unique keys "
        "(or say which to take with 'on_duplicate: first' or 'last')"
    )
    spec["lookup"]["on_duplicate"] = "first"
    assert run(spec, ctx) == ["first", "third", ""]
    spec["lookup"]["on_duplicate"] = "last"
    assert run(spec, ctx) == ["second", "third", ""]


def test_lookup_is_case_sensitive_unless_asked():
    spec = {"lookup": {"source": "codes", "on": {"key": "k"}, "column": "v", "on_duplicate": "first"}}
    assert run(spec, context(lookup_study(), key=["a", "B"])) == ["first", ""]


# --- censored results, visits ---------------------------------------------------------------------


def test_censored_results():
    ctx = context(r=["<=0.5", ">1000", "12.0", "negative", ""])
    assert run({"censored": {"of": "r", "give": "stresc"}}, ctx) == ["<=0.5", ">1000", "12", "NEGATIVE", ""]
    stresn = run({"censored": {"of": "r", "give": "stresn"}}, ctx)
    assert [None if np.isnan(v) else v for v in stresn] == [None, None, 12.0, None, None]
    lloq = run({"censored": {"of": "r", "give": "lloq"}}, ctx)
    assert [None if np.isnan(v) else v for v in lloq] == [0.5, None, None, None, None]


def test_visit_match_text_that_is_no_number():
    spec = {"visit_match": {"of": "v", "patterns": [{"match": "Visit (\\w+)", "visitnum": "\\1"}]}}
    assert error(spec, context(v=["Visit 2", "Visit X"])) == (
        "t.yaml:8 X.visit_match.patterns[0].visitnum: 'Visit X' gives VISITNUM 'X', which is not a number"
    )


def test_visit_window_has_no_day_zero_and_can_refuse_outsiders():
    windows = [
        {"visitnum": 1, "visit": "DAY 1", "from": 1, "to": 1},
        {"visitnum": 0, "visit": "PRE", "from": -3, "to": -1},
    ]
    ctx = context(d=["2021-03-01", "2021-02-28", "2021-03-05", "2021-03"], r=["2021-03-01"] * 4)
    spec = {"visit_window": {"date": "d", "reference": "r", "windows": windows}}
    result = run(spec, ctx)
    assert result[:2] == [1.0, 0.0] and np.isnan(result[2]) and np.isnan(result[3])
    spec["visit_window"]["outside"] = "error"
    assert error(spec, ctx) == (
        "t.yaml:8 X.visit_window.windows: study day 5 is in no window (row 3); widen a window or set 'outside: blank'"
    )


def test_visit_window_from_a_collected_study_day():
    windows = [{"visitnum": 2, "visit": "WEEK 2", "from": 8, "to": 21}]
    spec = {"visit_window": {"day": "dy", "give": "visit", "windows": windows}}
    assert run(spec, context(dy=["14", "30", ""])) == ["WEEK 2", "", ""]
    assert error(spec, context(dy=["x"])) == "t.yaml:8 X.visit_window.day: 'x' is not a study day (row 1)"


# --- standardize: affine conversions, units whatever their case or CT recode -----------------------


def unit_key():
    from sdtmify.mapping.derivations.standardize import unit_key as key
    from sdtmify.mapping.terminology import CTRecoder

    ct = CTRecoder.load()
    return lambda units: key(ct, units)


def test_fahrenheit_to_celsius_is_affine():
    from sdtmify.derive import findings

    units = {"TEMP": {"unit": "C", "factors": {"F": {"minus": 32, "times": 5, "divide": 9}}, "digits": 1}}
    out = findings.standardize_results(
        pd.Series(["98.6", "37.2", "<95"]),
        pd.Series(["F", "C", "F"]),
        pd.Series(["TEMP"] * 3),
        units,
        unit_key=unit_key(),
    )
    assert out["STRESC"].tolist() == ["37", "37.2", "<35"]
    assert out["STRESN"].tolist()[:2] == [37.0, 37.2]
    ranges = out["CONVERT"](pd.Series([212.0, 0.0, 32.0]))
    assert ranges.round(6).tolist() == [100.0, 0.0, 0.0]  # 0 C is already in the standard unit


def test_units_match_after_a_ct_recode_or_in_another_case():
    from sdtmify.derive import findings

    # the YAML wrote the raw "bpm"; the mapping's ct: UNIT recoded ORRESU to "beats/min"
    units = {"HR": {"unit": "beats/min", "factors": {"bpm": 1, "beats/sec": 60}}, "GLUC": {"unit": "mmol/L"}}
    out = findings.standardize_results(
        pd.Series(["72", "1.2", "5.5"]),
        pd.Series(["beats/min", "BEATS/SEC", "MMOL/L"]),
        pd.Series(["HR", "HR", "GLUC"]),
        units,
        unit_key=unit_key(),
    )
    assert out["STRESN"].tolist() == [72.0, 72.0, 5.5]
    assert out["STRESU"].tolist() == ["beats/min", "beats/min", "mmol/L"]
    assert not out["UNKNOWN_UNIT"].any()


def test_an_affine_rule_with_division_by_zero_is_refused_by_the_schema():
    document = {
        "domain": "VS",
        "from": "vitals",
        "derive": [
            {"standardize": {"by": "VSTESTCD", "units": {"TEMP": {"unit": "C", "factors": {"F": {"divide": 0}}}}}}
        ],
    }
    with pytest.raises(MappingError):
        yamlio.validate(document, "mapping", "vs.yaml")


def test_a_conditional_method_text_states_the_studys_branches():
    spec = {
        "when": [{"if": {"column": "resolution_date", "blank": True}, "then": {"constant": "ONGOING", "ct": "STENRF"}}],
        "else": {"column": "outcome", "transform": "upper"},
    }
    assert expressions.method_text(spec) == (
        "Set by the first condition that holds for the record, in the order the mapping lists them: "
        "'ONGOING' when resolution_date is blank; otherwise the collected outcome."
    )


def test_lookup_keyed_by_a_variable_computed_earlier():
    ctx = context(lookup_study(), term=["a", "b"])
    ctx.values["KEY"] = pd.Series(["A", "b"], index=ctx.rows.index)
    spec = {"lookup": {"source": "codes", "on": {"KEY": "k"}, "column": "v", "on_duplicate": "first"}}
    assert run(spec, ctx) == ["", "third"]  # case-sensitive: "A" is not "A " or "a"
    spec["lookup"]["on"] = {"NOPE": "k"}
    assert error(spec, ctx) == "t.yaml:8 X.lookup.on: column 'NOPE' not in source 'src'"


# --- two-digit years (SAS YEARCUTOFF) ----------------------------------------------------------------


def test_two_digit_years_fall_in_the_hundred_years_from_the_cutoff():
    from sdtmify.mapping.algorithms.iso8601 import full_year

    years = pd.Series(["25", "26", "00", "99", None])
    assert full_year(years, 1926).tolist() == ["2025", "1926", "2000", "1999", None]
    assert full_year(years, 2000).tolist() == ["2025", "2026", "2000", "2099", None]
    assert full_year(years, 1950).tolist() == ["2025", "2026", "2000", "1999", None]


def test_a_study_wide_year_cutoff_applies_when_the_field_declares_none():
    study = Study()
    study.config = {"dates": {"year_cutoff": 1926}}
    ctx = context(study, d=["15MAR25", "15MAR26", "1-jan-05"])
    assert run({"iso8601": "d", "formats": ["DATE7", "%d-%b-%y"]}, ctx) == ["2025-03-15", "1926-03-15", "2005-01-01"]
    # the field's own cutoff wins over the study's
    assert run({"iso8601": "d", "formats": ["DATE7", "%d-%b-%y"], "year_cutoff": 1900}, ctx) == [
        "1925-03-15",
        "1926-03-15",
        "1905-01-01",
    ]


def test_a_two_digit_year_without_a_cutoff_is_refused_naming_the_form():
    message = error({"iso8601": "d", "formats": ["DATE9", "YYMMDD6"]}, context(Study(), d=["140315"]))
    assert message.startswith("t.yaml:8 X.formats: 'YYMMDD6' reads two-digit years: declare their century")


def test_four_digit_forms_need_no_cutoff_and_ignore_one():
    ctx = context(Study(), d=["04MAR2021"])
    assert run({"iso8601": "d", "formats": ["DATE9"]}, ctx) == ["2021-03-04"]
    assert run({"iso8601": "d", "formats": ["DATE9"], "year_cutoff": 1800}, ctx) == ["2021-03-04"]
