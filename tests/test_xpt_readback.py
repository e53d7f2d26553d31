"""writers.readback.xpt_as_read gives what readers.read_xpt reads from the file write_xpt just wrote.

The build validates and reports on these in-memory results instead of reading its XPT files back, so
each is checked against the real reader (pyreadstat values, header parser) on the same file."""

from __future__ import annotations

import datetime as dt
import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdtmify.metadata.model import Dataset, Variable
from sdtmify.readers import read_xpt
from sdtmify.writers import readback
from sdtmify.writers.readback import xpt_as_read
from sdtmify.writers.xpt import write_xpt

TEXT = st.one_of(st.none(), st.text(alphabet=string.ascii_letters + "  \t.-", max_size=12))
NUMBER = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e70, max_value=1e70),
    st.sampled_from([np.nan, 0.0, -0.0, 1e-80, -3e-79, 0.1, 1 / 3, 2.0**53, 5.4e-79]),
)


def _as_reader_gives(frame: pd.DataFrame) -> pd.DataFrame:
    """Character columns as the reader's object dtype, to compare values alone."""
    return frame.astype({c: object for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c].dtype)})


def _same(tmp_path, frame: pd.DataFrame, dataset: Dataset, encoding: str = "ascii"):
    path = tmp_path / f"{dataset.name.lower()}.xpt"
    write_xpt(frame, dataset, path, encoding=encoding)
    read_frame, read_meta = read_xpt(path)
    result = xpt_as_read(frame, dataset, path, encoding=encoding)
    assert result is not None
    view, meta = result
    assert meta == read_meta
    assert view.attrs["xpt"] == read_frame.attrs["xpt"]
    assert view.attrs["encoding"] == read_frame.attrs["encoding"]
    pd.testing.assert_frame_equal(_as_reader_gives(view), read_frame, check_exact=True)
    for column in read_frame.columns:  # -0.0 written as 0: the sign matters when a value is shown
        if read_frame[column].dtype == "float64":
            assert np.array_equal(np.signbit(view[column]), np.signbit(read_frame[column]))
    return view


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(TEXT, NUMBER, NUMBER), min_size=1, max_size=30),
    short=st.integers(min_value=3, max_value=8),
)
def test_values_and_metadata_are_what_the_reader_reads(tmp_path, rows, short):
    frame = pd.DataFrame(rows, columns=["TEXT", "NUM", "SHORT"]).astype({"TEXT": object})
    dataset = Dataset(
        name="RB",
        label="Read back ",
        purpose="Tabulation",
        keys=("TEXT",),
        variables=(
            Variable("TEXT", "Text value", "Char", 12, "text", 1),
            Variable("NUM", "A number", "Num", 8, "float", 2, format="8.2"),
            Variable("SHORT", f"Stored in {short} bytes", "Num", short, "float", 3),
        ),
    )
    _same(tmp_path, frame, dataset)


# a dataset of one text and one number, for the tests of what the read-back shares with the frame
ADX = Dataset(
    name="ADX",
    label="",
    purpose="Analysis",
    variables=(Variable("USUBJID", "", "Char", 8, "text", 1), Variable("AVAL", "", "Num", 8, "float", 2)),
)


def test_unchanged_columns_are_shared_not_copied(tmp_path):
    frame = pd.DataFrame({"USUBJID": pd.Series(["S-1", "S-2"], dtype="str"), "AVAL": [1.5, 2.0]})
    view = _same(tmp_path, frame, ADX)
    assert np.shares_memory(view["AVAL"].to_numpy(), frame["AVAL"].to_numpy())


def test_dates_missing_text_and_trailing_blanks_read_as_the_file_holds_them(tmp_path):
    frame = pd.DataFrame(
        {
            "SUBJID": pd.Series(["A ", None, "  C", "   "], dtype=object),
            "EMPTY": [np.nan] * 4,  # a Char variable with no value: a numeric NaN column in the frame
            "ADT": pd.to_datetime(["2002-10-10", None, "1959-12-31", "2004-02-29"]),
            "ADY": pd.array([1, None, -3, 0], dtype="Int64"),
        }
    )
    dataset = Dataset(
        name="ADY",
        label="Dates",
        purpose="Analysis",
        variables=(
            Variable("SUBJID", "", "Char", 4, "text", 1),
            Variable("EMPTY", "", "Char", 1, "text", 2),
            Variable("ADT", "Analysis date", "Num", 8, "integer", 3, format="DATE9."),
            Variable("ADY", "", "Num", 8, "integer", 4),
        ),
    )
    view = _same(tmp_path, frame, dataset)
    assert view["SUBJID"].tolist() == ["A", "", "  C", ""]
    assert view["ADT"].iloc[0] == (dt.date(2002, 10, 10) - dt.date(1960, 1, 1)).days


def test_a_built_column_of_repeated_objects_reads_back_as_the_file_holds_it(tmp_path):
    """Thousands of records sharing a few objects (as the mapping builds them) are changed once per object:
    missing values, trailing blanks and equal text in another object read back as the file holds them."""
    objects = np.array(["A ", None, "B", "   ", "A", "B", "C  "], dtype=object)
    codes = np.random.default_rng(7).integers(len(objects), size=3000)
    frame = pd.DataFrame({"SUBJID": pd.Series(objects[codes], dtype=object)})
    dataset = Dataset(name="REP", label="", purpose="", variables=(Variable("SUBJID", "", "Char", 3, "text", 1),))
    view = _same(tmp_path, frame, dataset)
    assert view["SUBJID"].tolist() == np.array(["A", "", "B", "", "A", "B", "C"], dtype=object)[codes].tolist()


def test_only_the_file_can_tell_gives_none(tmp_path):
    """Non-ASCII text in a single-byte encoding: the reader guesses the encoding (UTF-8, then Windows-1252)."""
    dataset = Dataset(name="X", label="", purpose="", variables=(Variable("V", "", "Char", 8, "text", 1),))
    frame = pd.DataFrame({"V": pd.Series(["CAFÉ", "B"], dtype=object)})
    path = tmp_path / "x.xpt"
    write_xpt(frame, dataset, path, encoding="cp1252")
    assert xpt_as_read(frame, dataset, path, encoding="cp1252") is None


def test_utf8_text_reads_back_as_written(tmp_path):
    frame = pd.DataFrame({"TERM": pd.Series(["IFN-γ ", "µg"], dtype="str")})
    dataset = Dataset(name="U", label="", purpose="", variables=(Variable("TERM", "", "Char", 10, "text", 1),))
    view = _same(tmp_path, frame, dataset, encoding="utf-8")
    assert view["TERM"].tolist() == ["IFN-γ", "µg"]


def _column_as_read(column: pd.Series) -> list[str]:
    """Values with their types, -0.0 told from 0.0 and NaN equal to NaN: what a column by column check compares."""
    return [f"{type(value).__name__}:{value!r}" for value in column.astype(object).tolist()]


@pytest.mark.parametrize("encoding", ["ascii", "utf-8"])
def test_awkward_values_read_back_column_by_column_as_the_reader_reads_the_file(tmp_path, encoding, monkeypatch):
    monkeypatch.setattr(readback, "_JOIN_BLOCK", 3)  # text checked 3 values at a time: the seams are crossed
    tiny = 16.0**-65  # the least magnitude IBM holds: kept; half of it is written as 0
    text = ["A ", "  lead", "", None, "   ", "x" * 199 + " ", "a\tb", "END "]
    if encoding == "utf-8":
        text[2] = "µg/L  "  # non-ASCII, UTF-8 (two bytes for µ), trailing blanks
    frame = pd.DataFrame(
        {
            "TEXT": pd.Series(text, dtype=object),
            "LONG": pd.Series(["y" * 200] * 7 + [None], dtype="str"),  # a 200-byte value fills its field
            "TAIL": pd.Series(["B"] * 7 + ["END "], dtype="str"),  # one trailing blank, at the end of a block
            "MID": pd.Series(["B", "MID ", "B", "B", "B", "B", "B", "B"], dtype="str"),  # ... inside one
            "EXACT": [1.5, -2.0, 1e75, -tiny, 0.1, 1e-78, np.nan, 7.0],
            "ODD": [-0.0, tiny / 2, -1e-80, 5.4e-79, np.nan, 1e75, 0.0, 2.0**251],
            "SHORT": [0.1, 1 / 3, -0.0, 2.0**40 + 1, np.nan, 1e-70, 123456789.123, 1.0],
            "SPECIAL": pd.Series([1.0, ".A", "._", None, np.nan, "z", 2.5, "."], dtype=object),
        }
    )
    dataset = Dataset(
        name="AWK",
        label="Awkward values",
        purpose="Tabulation",
        variables=(
            Variable("TEXT", "", "Char", 200, "text", 1),
            Variable("LONG", "", "Char", 200, "text", 2),
            Variable("TAIL", "", "Char", 4, "text", 3),
            Variable("MID", "", "Char", 4, "text", 4),
            Variable("EXACT", "", "Num", 8, "float", 5),
            Variable("ODD", "", "Num", 8, "float", 6),
            Variable("SHORT", "", "Num", 4, "float", 7),
            Variable("SPECIAL", "", "Num", 8, "float", 8),
        ),
    )
    path = tmp_path / "awk.xpt"
    write_xpt(frame, dataset, path, encoding=encoding)
    read_frame, read_meta = read_xpt(path)
    result = xpt_as_read(frame, dataset, path, encoding=encoding)
    assert result is not None
    view, meta = result
    assert meta == read_meta
    assert list(view.columns) == list(read_frame.columns)
    for name in read_frame.columns:
        assert _column_as_read(view[name]) == _column_as_read(read_frame[name]), name
    assert view["TEXT"].tolist() == [
        "A",
        "  lead",
        "µg/L" if encoding == "utf-8" else "",
        "",
        "",
        "x" * 199,
        "a\tb",
        "END",
    ]
    assert _column_as_read(view["ODD"])[:4] == ["float:0.0", "float:0.0", "float:0.0", "float:5.4e-79"]
    assert view["SPECIAL"].tolist()[1:3] == [".A", "._"] and view["SPECIAL"].tolist()[5] == ".Z"
    assert [v.data_type for v in meta.variables] == ["text"] * 4 + ["float"] * 4

    # the columns the round trip leaves as they were are the frame's own arrays; the others are new
    assert view["TAIL"].tolist()[-1] == "END" and view["MID"].tolist()[1] == "MID"
    changed = {"LONG": False, "TAIL": False, "MID": False, "EXACT": True, "ODD": False, "SHORT": False}
    for name, shared in changed.items():
        assert np.shares_memory(np.asarray(view[name].array), np.asarray(frame[name].array)) == shared, name


def test_unchanged_text_and_exact_numbers_are_the_frames_own_arrays(tmp_path):
    frame = pd.DataFrame(
        {
            "USUBJID": pd.Series(["S-1", "S-2", "S-3"], dtype="str"),
            "AVAL": [16.0**-65, -1e75, 0.0],  # the extremes IBM holds exactly
        }
    )
    view = _same(tmp_path, frame, ADX)
    assert view["USUBJID"].array is frame["USUBJID"].array
    assert np.shares_memory(view["AVAL"].to_numpy(), frame["AVAL"].to_numpy())
