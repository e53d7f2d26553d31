"""sort_order must give sort_values' stable order exactly: the SDTM (--SEQ, dataset order) and ADaM
(ASEQ, dataset order) outputs depend on it record by record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdtmify.distinct import factorize, factorize_text, group_codes, lexical_order, sort_order


def _frame(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    text = np.array(["B", "a", "C", "", "b"], dtype=object)[rng.integers(0, 5, rows)]
    number = rng.integers(0, 4, rows).astype("float64")
    number[rng.random(rows) < 0.2] = np.nan
    with_gaps = pd.Series(text, dtype="str")
    with_gaps[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "STUDYID": pd.Series(["S1"] * rows, dtype="str"),
            "USUBJID": pd.Series(rng.choice(["S1-03", "S1-01", "S1-02"], rows), dtype="str"),
            "TEXT": with_gaps,
            "NUMBER": number,
            "ROW": rng.integers(-5, 5, rows),  # negative integers too
            "FLAG": rng.random(rows) < 0.5,  # neither text nor number: ranked as pandas ranks it
        }
    )


@pytest.mark.parametrize("missing_first", [False, True])
def test_sort_order_is_the_stable_sort_values_order(missing_first):
    frame = _frame()
    columns = ["STUDYID", "USUBJID", "TEXT", "NUMBER", "FLAG", "ROW"]
    expected = (
        frame.reset_index(drop=True)
        .sort_values(columns, kind="stable", na_position="first" if missing_first else "last")
        .index.to_numpy()
    )
    assert sort_order(frame, columns, missing_first=missing_first).tolist() == expected.tolist()
    # ties keep their present order: sorted by two columns only
    expected = frame.sort_values(["TEXT", "NUMBER"], kind="stable", na_position="last").index.to_numpy()
    assert sort_order(frame, ["TEXT", "NUMBER"]).tolist() == expected.tolist()


def test_lexical_order_falls_back_to_lexsort_when_the_ranks_do_not_fit_one_key():
    rng = np.random.default_rng(3)
    wide = [rng.integers(-(2**40), 2**40, 200), rng.integers(0, 2**40, 200), rng.integers(0, 3, 200)]
    assert lexical_order(wide, [None, None, 3], 200).tolist() == np.lexsort(wide[::-1]).tolist()
    small = [rng.integers(0, 3, 200), rng.integers(0, 5, 200)]
    assert lexical_order(small, [3, 5], 200).tolist() == np.lexsort(small[::-1]).tolist()
    assert lexical_order([], [], 4).tolist() == [0, 1, 2, 3]


def _runs(values: list, lengths: np.ndarray) -> np.ndarray:
    """``values`` cycled, each repeated as many times as ``lengths`` says: a column that comes in runs."""
    cycled = np.empty(len(lengths), dtype=object)
    cycled[:] = [values[i % len(values)] for i in range(len(lengths))]
    return np.repeat(cycled, lengths)


@pytest.mark.parametrize("sort", [False, True])
@pytest.mark.parametrize("use_na_sentinel", [True, False])
def test_factorize_gives_pd_factorize_codes_and_distinct_values(sort, use_na_sentinel):
    rng = np.random.default_rng(11)
    lengths = rng.integers(5, 30, 1000)  # runs: only their first values are hashed
    text = _runs(["S1-09", "S1-02", None, "", "S1-10", "S1-11", "S1-12", np.nan, "S1-02", "S1-03"], lengths)
    columns = [
        pd.Series(text, dtype="str"),
        pd.Series(text, dtype=object),
        pd.Series(_runs([2.5, np.nan, -0.0, 0.0, 1.0], lengths).astype("float64")),
        pd.Series(_runs([3, 1, 2], lengths).astype("int64")),
        pd.Series(rng.choice(["B", "A", "C"], len(text)), dtype="str"),  # no runs: as it is
        pd.Series([pd.NA, "A"] * 5000, dtype=object),  # values that compare to no truth value
        _runs(["x", "y"], lengths),  # an array
    ]
    for values in columns:
        codes, distinct = factorize(values, sort=sort, use_na_sentinel=use_na_sentinel)
        expected_codes, expected = pd.factorize(values, sort=sort, use_na_sentinel=use_na_sentinel)
        assert codes.tolist() == expected_codes.tolist()
        assert type(distinct) is type(expected) and distinct.dtype == expected.dtype
        assert pd.Series(distinct).equals(pd.Series(expected))


def test_group_codes_number_combinations_as_groupby_ngroup():
    rng = np.random.default_rng(5)
    lengths = rng.integers(5, 30, 600)
    frame = pd.DataFrame(
        {
            "USUBJID": pd.Series(_runs(["S1-02", "S1-01", None, "S1-03"], lengths), dtype="str"),
            "PARAMCD": rng.choice(np.array(["B", "A", np.nan], dtype=object), lengths.sum()),
            "AVISITN": _runs([1.0, np.nan, 2.0], lengths).astype("float64"),
        }
    )
    columns = ["USUBJID", "PARAMCD", "AVISITN"]
    expected = frame.groupby(columns, sort=False, dropna=False).ngroup().to_numpy()
    assert group_codes(frame, columns).tolist() == expected.tolist()
    assert group_codes(frame, []).tolist() == [0] * len(frame)


@pytest.mark.parametrize("sort", [False, True])
def test_factorize_text_gives_the_codes_of_pandas_factorize(sort):
    values = pd.Series(["b", "a", None, "b", "", "é", "a"], dtype="str")
    codes, distinct = factorize_text(values, sort=sort)
    expected_codes, expected = pd.factorize(values, sort=sort)
    assert codes.tolist() == expected_codes.tolist()
    assert distinct.dtype == object
    assert distinct.tolist() == list(expected)
    if sort:
        assert codes.tolist() == [2, 1, -1, 2, 0, 3, 1]
