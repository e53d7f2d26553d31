"""sort_order must give sort_values' stable order exactly: the SDTM (--SEQ, dataset order) and ADaM
(ASEQ, dataset order) outputs depend on it record by record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdtmify.distinct import lexical_order, sort_order


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
