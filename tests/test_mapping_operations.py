"""The operations of the mapping language, one by one, including ISO 8601 dates and findings."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdtmify import isodates
from sdtmify.derive import findings
from sdtmify.mapping import expressions
from sdtmify.mapping.context import MappingContext
from sdtmify.yamlio import LineDict

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def context(**columns) -> MappingContext:
    rows = pd.DataFrame(columns)
    rows["SRCROW"] = np.arange(1, len(rows) + 1)
    document = LineDict()
    document.line, document.key_lines = 1, {}
    return MappingContext(study=None, file="t.yaml", document=document, rows=rows, source_name="src")


def test_iso8601_from_several_forms_and_partial_dates():
    raw = pd.Series(
        [
            "2004-03-07",
            "07-MAR-2004",
            "UN-MAR-2004",
            "UNK-UNK-2004",
            "2004-03-07T14:05",
            "",
            "7 Mar 2004",
            "MAR-2004",
            "UNK",
        ]
    )
    assert isodates.to_iso8601(raw).tolist() == [
        "2004-03-07",
        "2004-03-07",
        "2004-03",
        "2004",
        "2004-03-07T14:05",
        "",
        "2004-03-07",
        "2004-03",
        "",
    ]


def test_day_first_and_month_first_are_declared_not_guessed():
    raw = pd.Series(["03/04/2004"])
    assert isodates.to_iso8601(raw, ["dd/mm/yyyy"]).tolist() == ["2004-04-03"]
    assert isodates.to_iso8601(raw, ["mm/dd/yyyy"]).tolist() == ["2004-03-04"]


@pytest.mark.parametrize(
    "value,reason",
    [
        ("31-FEB-2004", "is an impossible date"),
        ("2004-13-01", "has an impossible month"),
        ("2004-01-01T25:00", "has an impossible time of day"),
        ("yesterday", "is not a date in the forms iso, dd-mon-yyyy, dd mon yyyy, mon-yyyy"),
    ],
)
def test_impossible_dates_are_refused_with_their_row(value, reason):
    with pytest.raises(isodates.DateProblem) as info:
        isodates.to_iso8601(pd.Series(["2004-01-01", value]))
    assert info.value.reason == reason
    assert info.value.mask.tolist() == [False, True]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)), st.booleans(), st.booleans()
        ),
        min_size=1,
        max_size=25,
    )
)
def test_iso8601_round_trip_and_partials(cases):
    """Any real date survives both forms; an unknown day or month is dropped from the right, never imputed."""
    crf = [
        f"{'UN' if drop_day or drop_month else f'{day.day:02d}'}-{'UNK' if drop_month else MONTHS[day.month - 1]}-"
        f"{day.year}"
        for day, drop_day, drop_month in cases
    ]
    expected = [day.isoformat()[: 4 if drop_month else 7 if drop_day else 10] for day, drop_day, drop_month in cases]
    assert isodates.to_iso8601(pd.Series(crf)).tolist() == expected
    full = [day.isoformat() for day, _, _ in cases]
    assert isodates.to_iso8601(pd.Series(full)).tolist() == full


def test_template_is_blank_when_a_part_is_blank():
    ctx = context(site=["001", "002"], subject=["A", ""])
    result = expressions.evaluate({"template": "{site}-{subject}"}, ctx, ["variables", "X"])
    assert result.tolist() == ["001-A", ""]


def test_when_evaluates_each_branch_on_its_own_rows():
    ctx = context(reason=["Completed", "Other: moved", ""])
    spec = {
        "when": [{"if": {"column": "reason", "matches": "^Other"}, "then": {"constant": "OTHER"}}],
        "else": {"column": "reason", "transform": "upper"},
    }
    assert expressions.evaluate(spec, ctx, ["variables", "DSDECOD"]).tolist() == ["COMPLETED", "OTHER", ""]


def test_value_map_keep_and_blank_policies():
    ctx = context(x=["a", "b", ""])
    assert expressions.evaluate({"column": "x", "map": {"a": "A"}, "unmapped": "keep"}, ctx, ["v"]).tolist() == [
        "A",
        "b",
        "",
    ]
    assert expressions.evaluate({"column": "x", "map": {"a": "A"}, "unmapped": "blank"}, ctx, ["v"]).tolist() == [
        "A",
        "",
        "",
    ]


def test_coalesce_and_conditions():
    ctx = context(a=["", "x", ""], b=["1", "2", ""])
    assert expressions.evaluate({"coalesce": [{"column": "a"}, {"column": "b"}]}, ctx, ["v"]).tolist() == ["1", "x", ""]
    holds = expressions.condition(
        {"any": [{"column": "a", "equals": "x"}, {"not": {"column": "b", "blank": False}}]}, ctx, ["where"]
    )
    assert holds.tolist() == [False, True, True]


def test_result_standardization_with_factors_and_limits():
    out = findings.standardize_results(
        pd.Series(["11.2", "<10", "POSITIVE", "", "4.25"]),
        pd.Series(["g/dL", "pg/mL", "", "", "10^3/uL"]),
        pd.Series(["HGB", "IFNG", "HCG", "HGB", "WBC"]),
        {"HGB": {"unit": "g/L", "factors": {"g/dL": 10}}, "WBC": {"unit": "10^9/L", "factors": {"10^3/uL": 1}}},
    )
    assert out["STRESC"].tolist() == ["112", "<10", "POSITIVE", "", "4.25"]
    assert out["STRESN"].tolist()[0] == 112.0 and out["STRESN"].iloc[1:4].isna().all() and out["STRESN"].iloc[4] == 4.25
    assert out["STRESU"].tolist() == ["g/L", "pg/mL", "", "", "10^9/L"]
    assert not out["UNKNOWN_UNIT"].any()


def test_unknown_unit_is_reported():
    out = findings.standardize_results(
        pd.Series(["7"]), pd.Series(["mmol/L"]), pd.Series(["HGB"]), {"HGB": {"unit": "g/L", "factors": {"g/dL": 10}}}
    )
    assert out["UNKNOWN_UNIT"].tolist() == [True]


def test_toxicity_grade_by_ctcae_thresholds_as_data():
    value = pd.Series([5.0, 3.5, 2.9, 1.5, 0.9, np.nan, 400.0])
    testcd = pd.Series(["WBC"] * 6 + ["PLAT"])
    lln = pd.Series([4.0] * 6 + [150.0])
    grades = {"WBC": {"direction": "low", "thresholds": ["LLN", 3.0, 2.0, 1.0]}}
    assert findings.toxicity_grade(value, testcd, lln, lln * 3, grades).tolist() == ["0", "1", "2", "3", "4", "", ""]
    high = {"PLAT": {"direction": "high", "thresholds": ["ULN", "2.5xULN"]}}
    assert findings.toxicity_grade(value, testcd, lln, pd.Series([150.0] * 7), high).tolist()[-1] == "2"


def test_reference_range_indicator():
    value = pd.Series([1.0, 5.0, 12.0, np.nan, 5.0])
    low, high = pd.Series([2.0, 2.0, 2.0, 2.0, np.nan]), pd.Series([10.0, 10.0, 10.0, 10.0, np.nan])
    assert findings.reference_range_indicator(value, low, high).tolist() == ["LOW", "NORMAL", "HIGH", "", ""]


def test_result_standardization_spreads_each_distinct_result_back_to_its_records():
    # repeated (test, unit, result) triples, a test without a standard unit, a missing test code and
    # a non-default index: every record gets its own triple's values
    orres = pd.Series(["11.2", "4.25", "11.2", "<10", "7", "11.2", "POS"], index=[9, 3, 7, 1, 5, 2, 8])
    orresu = pd.Series(["g/dL", "10^3/uL", "g/L", "pg/mL", "mg/dL", "g/dL", ""], index=orres.index)
    testcd = pd.Series(["HGB", "WBC", "HGB", "IFNG", None, "HGB", "HCG"], index=orres.index)
    units = {"HGB": {"unit": "g/L", "factors": {"g/dL": 10}}, "WBC": {"unit": "10^9/L", "factors": {"10^3/uL": 1}}}
    out = findings.standardize_results(orres, orresu, testcd, units)
    assert out["STRESC"].index.tolist() == orres.index.tolist()
    assert out["STRESC"].tolist() == ["112", "4.25", "11.2", "<10", "7", "112", "POS"]
    assert out["STRESN"].tolist()[:3] == [112.0, 4.25, 11.2] and out["STRESN"].iloc[3] != out["STRESN"].iloc[3]
    assert out["STRESU"].tolist() == ["g/L", "10^9/L", "g/L", "pg/mL", "mg/dL", "g/L", ""]
    ranges = out["CONVERT"](pd.Series(1.0, index=orres.index))
    assert ranges.tolist() == [10.0, 1.0, 1.0, 1.0, 1.0, 10.0, 1.0]
