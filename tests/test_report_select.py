"""report.yaml conditions on text columns, tested on distinct values and spread back through codes, select
exactly the records the value-by-value definition selects: missing never satisfies a comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdtmify.report.adam import _blank_as_missing, _normalise
from sdtmify.report.codes import column_codes, shared_codes
from sdtmify.report.select import _operator, _test, where_mask

VALUES = st.one_of(
    st.none(),
    st.just(np.nan),
    st.just(""),
    st.sampled_from(["IFNG", "ifng", "HALFLLOQ", " IFNG", "Y", "N", "1"]),
    st.integers(-1, 2),
    st.floats(allow_nan=True, allow_infinity=False, width=16),
    st.booleans(),
)
OPERATIONS = st.one_of(
    st.tuples(st.sampled_from(["eq", "ne"]), VALUES),
    st.tuples(st.sampled_from(["in", "not_in"]), st.lists(VALUES, max_size=4)),
    st.tuples(st.just("missing"), st.booleans()),
)


def _column(pool: list, picks: list[int], fresh: bool) -> pd.Series:
    """An object column of ``pool``'s values at ``picks``: the same objects repeated (as a build makes
    them), or a new object per record where the value is text (as a file reader makes them)."""
    values = np.empty(len(picks), dtype=object)
    for i, pick in enumerate(picks):
        value = pool[pick % len(pool)]
        values[i] = "".join(list(value)) if fresh and isinstance(value, str) else value
    return pd.Series(values, dtype=object)


@settings(max_examples=150, deadline=None)
@given(
    pool=st.lists(VALUES, min_size=1, max_size=8),
    picks=st.lists(st.integers(0, 7), max_size=60),
    fresh=st.booleans(),
    operation=OPERATIONS,
)
def test_condition_through_codes_is_the_value_by_value_definition(pool, picks, fresh, operation):
    column = _column(pool, picks, fresh)
    op, value = operation
    expected = _test(column, op, value)  # the definition, value by value: no codes
    pd.testing.assert_series_equal(_operator(column, op, value), expected)
    with shared_codes():  # the codes found by the first condition serve the second
        _operator(column, "missing", True)
        pd.testing.assert_series_equal(_operator(column, op, value), expected)


@settings(max_examples=60, deadline=None)
@given(pool=st.lists(VALUES, min_size=1, max_size=6), picks=st.lists(st.integers(0, 5), max_size=40))
def test_blank_text_reads_as_missing_as_where_not_blank_defines_it(pool, picks):
    column = _column(pool, picks, fresh=False)
    pd.testing.assert_series_equal(_blank_as_missing(column), column.where(column != ""))


def test_conditions_on_a_lab_column_pick_the_records_and_never_a_missing_one():
    column = pd.Series(["IFNG", "", None, np.nan, "CXCL9", "IFNG", 10, 10.0], dtype=object)
    assert _operator(column, "eq", "IFNG").tolist() == [True, False, False, False, False, True, False, False]
    assert _operator(column, "ne", "IFNG").tolist() == [False, True, False, False, True, False, True, True]
    assert _operator(column, "in", ["CXCL9", 10]).tolist() == [False] * 4 + [True, False, True, True]
    assert _operator(column, "not_in", ["IFNG", ""]).tolist() == [False] * 4 + [True, False, True, True]
    assert _operator(column, "missing", True).tolist() == [False, False, True, True, False, False, False, False]
    assert _operator(column, "missing", False).tolist() == [True, True, False, False, True, True, True, True]
    assert _operator(column, "ge", 10).tolist() == [False] * 6 + [True, True]


def test_a_sorted_column_read_from_a_file_is_coded_by_runs():
    # one new str object per record (no shared objects), 12,000 records in runs: distinct.factorize's runs
    column = pd.Series(["".join(["IFN", "G"]) for _ in range(6000)] + ["".join(["CXCL", "9"]) for _ in range(6000)])
    assert column.iloc[0] is not column.iloc[1]
    column = column.astype(object).where(np.arange(12000) % 1000 != 0)
    mask = _operator(column, "eq", "CXCL9")
    assert int(mask.sum()) == 5994 and not mask.iloc[:6000].any() and not mask.iloc[6000]
    assert int(_operator(column, "missing", True).sum()) == 12


def test_read_adam_blanks_are_missing_and_a_column_is_coded_once_for_all_conditions():
    tests = np.array(["IFNG", "CXCL9", ""], dtype=object)
    frame = pd.DataFrame(
        {
            "PARAMCD": pd.Series(tests[np.arange(3000) % 3], dtype="str"),
            "DTYPE": pd.Series(np.array(["", "HALFLLOQ"], dtype=object)[(np.arange(3000) % 7 == 0).astype(int)]),
            "ATOXGR": pd.Series(["1", "2", None] * 1000, dtype=object),
            "AVAL": np.arange(3000, dtype=float),
        }
    )
    out = _normalise(frame)
    assert [str(dtype) for dtype in out.dtypes] == ["object", "object", "object", "float64"]
    assert out["PARAMCD"].iloc[:3].tolist()[:2] == ["IFNG", "CXCL9"] and np.isnan(out["PARAMCD"].iloc[2])
    assert int(out["DTYPE"].isna().sum()) == 3000 - 429 and out["ATOXGR"].iloc[2] is None
    assert out["AVAL"].tolist() == list(range(3000))
    with shared_codes():
        mask = where_mask(out, {"PARAMCD": "IFNG", "DTYPE": {"missing": True}})
        codes, distinct = column_codes(out["PARAMCD"])
        assert column_codes(out["PARAMCD"])[0] is codes  # found by the first condition, kept for the next
        assert distinct.tolist()[:2] == ["IFNG", "CXCL9"] and pd.isna(distinct[2]) and len(distinct) == 3
    assert column_codes(out["PARAMCD"])[0] is not codes  # kept for one report only
    expected = (np.arange(3000) % 3 == 0) & (np.arange(3000) % 7 != 0)
    assert mask.tolist() == expected.tolist()


@pytest.mark.parametrize("op", ["eq", "in"])
def test_unhashable_values_are_compared_as_they_are(op):
    column = pd.Series([["a"], "IFNG", None], dtype=object)
    assert column_codes(column) is None
    value = "IFNG" if op == "eq" else ["IFNG"]
    assert _operator(column, op, value).tolist() == [False, True, False]
