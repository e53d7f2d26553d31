"""The shortcuts that keep reading and date parsing cheap at scale give what the full work gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdtmify import isodates
from sdtmify.errors import InputError
from sdtmify.sources import read_source

WINDOW = ("1900-01-01", "2027-12-31")


def test_dates_already_in_iso_8601_come_back_as_the_parser_writes_them():
    values = pd.Series(
        ["2020-01-05", "2020-01-05T10:00", "2020-01-05T10:00:59", "2020-02-29", "2020-01-05 10:00", "2020-01", ""],
        dtype=str,
    )
    parsed = isodates.to_iso8601(values, window=WINDOW)
    by_parser = isodates._to_iso8601_distinct(values.astype(object), isodates.DEFAULT_FORMATS, None, WINDOW)
    assert (
        parsed.tolist()
        == by_parser.tolist()
        == [
            "2020-01-05",
            "2020-01-05T10:00",
            "2020-01-05T10:00:59",
            "2020-02-29",
            "2020-01-05T10:00",
            "2020-01",
            "",
        ]
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2021-02-29", "is an impossible date"),
        ("2020-01-05T24:00", "has an impossible time of day"),
        ("2020-01-05T23:60", "has an impossible time of day"),
        ("1899-12-31", "is outside the plausible dates"),
        ("2028-01-01T00:00", "is outside the plausible dates"),
    ],
)
def test_iso_looking_dates_that_are_wrong_are_refused_by_the_parser(value, reason):
    values = pd.Series(["2020-01-05", value, "2020-01-05", value], dtype=str)
    with pytest.raises(isodates.DateProblem) as problem:
        isodates.to_iso8601(values, window=WINDOW)
    assert problem.value.reason.startswith(reason)
    assert problem.value.mask.tolist() == [False, True, False, True]


def test_remembered_dates_follow_a_column_changed_in_place():
    frame = pd.DataFrame({"LBDTC": pd.Series(["2020-01-05", "2020-02", "2020-03-01"], dtype=str)})
    with isodates.remembering_dates():
        first = isodates.date_part(frame["LBDTC"])
        again = isodates.date_part(frame["LBDTC"])
        frame.loc[1, "LBDTC"] = "2020-02-10"
        changed = isodates.date_part(frame["LBDTC"])
    assert first.isna().tolist() == again.isna().tolist() == [False, True, False]
    assert changed.tolist() == [pd.Timestamp("2020-01-05"), pd.Timestamp("2020-02-10"), pd.Timestamp("2020-03-01")]
    again.iloc[0] = pd.NaT  # a caller changing its dates does not change what is remembered
    assert first.iloc[0] == pd.Timestamp("2020-01-05")


def test_a_short_record_made_up_for_by_a_long_one_is_still_named(tmp_path):
    # as many commas in all as a well-formed file: the record-by-record count must still run
    path = tmp_path / "labs.csv"
    path.write_text("a,b,c\n1,2\n3,4,5,6\n7,8,9\n")
    with pytest.raises(InputError) as error:
        read_source(path, name="labs")
    assert "line 2 has 2 fields, the header has 3 (2 lines in all)" in str(error.value)


def test_blanks_around_csv_values_are_stripped(tmp_path):
    path = tmp_path / "dm.csv"
    path.write_text("subject,sex\nS1, M\nS2,F \nS3,F\n")
    frame = read_source(path, name="dm")
    assert frame["sex"].tolist() == ["M", "F", "F"]
    assert str(frame["sex"].dtype) == "str"


def test_records_are_sorted_as_pandas_sorts_them():
    from sdtmify.mapping.metadata import _sorted

    rng = np.random.default_rng(7)
    size = 500
    frame = pd.DataFrame(
        {
            "STUDYID": pd.Series(["S1"] * size, dtype=str),
            "USUBJID": pd.Series(rng.choice(["S1-003", "S1-001", "S1-002"], size), dtype=str),
            "LBTESTCD": pd.Series(rng.choice(["ALT", "AST", "", None], size), dtype=str),
            "VISITNUM": rng.choice([1.0, 2.0, 10.0, np.nan], size),
            "VISIT": pd.Series(rng.choice(["CYCLE 1", "SCREENING", None], size), dtype=object),
            "SRCTABLE": pd.Series(["labs"] * size, dtype=str),
            "SRCROW": rng.permutation(size).astype("int64"),
        }
    )
    columns = list(frame.columns)
    expected = frame.sort_values(columns, kind="mergesort").reset_index(drop=True)
    pd.testing.assert_frame_equal(_sorted(frame, columns), expected)
    # ties (no SRCROW) keep the records' order, as a stable sort does
    tied = columns[:-1]
    pd.testing.assert_frame_equal(
        _sorted(frame, tied), frame.sort_values(tied, kind="mergesort").reset_index(drop=True)
    )


def test_sequence_numbers_follow_the_keys_within_each_subject():
    from sdtmify.derive.sequence import sequence_number

    frame = pd.DataFrame(
        {
            "USUBJID": pd.Series(["S-2", "S-1", "S-2", "S-1", "S-2", "S-1"], dtype=str),
            "LBTESTCD": pd.Series(["ALT", "AST", "ALT", "ALT", "", "AST"], dtype=str),
            "SRCROW": np.array([6, 5, 4, 3, 2, 1], dtype="int64"),
        }
    ).set_axis([10, 11, 12, 13, 14, 15])
    seq = sequence_number(frame, ["LBTESTCD", "SRCROW"])
    # S-1: ALT row 3, AST row 1, AST row 5; S-2: "" row 2, ALT row 4, ALT row 6
    assert seq.tolist() == [3.0, 3.0, 2.0, 1.0, 1.0, 2.0]
    assert seq.index.tolist() == frame.index.tolist() and seq.dtype == "float64"
    # ties keep the records' order, as the stable sort always did
    assert sequence_number(frame, ["LBTESTCD"]).tolist() == [2.0, 2.0, 3.0, 1.0, 1.0, 3.0]
