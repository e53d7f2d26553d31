"""Dataset-JSON records are encoded column by column (sdtmify.writers.datasetjson._Records); every byte must
be what the standard library's encoder writes for the same values: ``json.dumps(row, ensure_ascii=False,
separators=(",", ":"))`` per record, ``null`` for missing numbers, ``repr`` for floats and ints, ISO 8601
text for SAS dates/datetimes/times, escapes only for quote, backslash and control characters."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdtmify.errors import WriteError
from sdtmify.metadata.model import Dataset, Variable
from sdtmify.writers.datasetjson import prepare_dataset_json, write_forms

DATASET = Dataset(
    name="T",
    label="Test",
    purpose="Tabulation",
    variables=(
        Variable("TEXT", "", "Char", 200, "text", 1),
        Variable("NUM", "", "Num", 8, "float", 2),
        Variable("SEQ", "", "Num", 8, "integer", 3),
        Variable("DT", "", "Num", 8, "integer", 4, format="DATE9."),
        Variable("DTM", "", "Num", 8, "integer", 5, format="DATETIME20."),
        Variable("TM", "", "Num", 8, "integer", 6, format="TIME8."),
        Variable("FLAG", "", "Char", 1, "text", 7),
    ),
)
SAS_EPOCH = pd.Timestamp("1960-01-01")

texts = st.one_of(
    st.sampled_from(
        ["", "Y", 'say "hi"', "back\\slash", "tab\there", "line\nbreak", "\x00\x1f\x7f", "caf\u00e9 \u2264 5"]
    ),
    st.text(max_size=12),  # any code point but lone surrogates, control characters included
)
floats = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.5, 0.1, 1e-5, 1e-4, 1e15, 1e16, 2.0**53, 5e-324, 1.7976931348623157e308]),
    st.floats(allow_nan=False, allow_infinity=False),
)
missing = st.just(np.nan)


def record():
    return st.tuples(
        st.one_of(st.none(), texts),
        st.one_of(missing, floats),
        st.one_of(missing, st.integers(-(2**53), 2**53).map(float)),
        st.one_of(missing, st.integers(-200_000, 2_900_000).map(float)),  # years 1412-9900
        st.one_of(missing, st.integers(-(10**10), 2 * 10**11).map(float)),
        st.one_of(missing, st.integers(0, 86399).map(float)),
        st.sampled_from(["Y", "N", ""]),
    )


def expected_rows(frame: pd.DataFrame) -> list[str]:
    """Each record as the standard library writes it, from Python values built one by one."""

    def number(value, kind):
        if np.isnan(value):
            return None
        if kind == "float":
            return float(value)
        if kind == "int":
            return int(value)
        if kind == "date":
            return (SAS_EPOCH + pd.Timedelta(days=int(value))).strftime("%Y-%m-%d")
        if kind == "datetime":
            return (SAS_EPOCH + pd.Timedelta(seconds=int(value))).strftime("%Y-%m-%dT%H:%M:%S")
        seconds = int(value)
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"

    rows = []
    for values in frame.itertuples(index=False):
        text, num, seq, date, datetime, time, flag = values
        row = [
            "" if pd.isna(text) else text,
            number(num, "float"),
            number(seq, "int"),
            number(date, "date"),
            number(datetime, "datetime"),
            number(time, "time"),
            flag,
        ]
        rows.append(json.dumps(row, ensure_ascii=False, allow_nan=False, separators=(",", ":")))
    return rows


def written_rows(tmp_path, frame: pd.DataFrame, chunk_rows: int) -> tuple[list[str], list[str]]:
    document = prepare_dataset_json(frame, DATASET)
    whole, lines = write_forms(
        document, json_path=tmp_path / "t.json", ndjson_path=tmp_path / "t.ndjson", chunk_rows=chunk_rows
    )
    text = whole.read_text(encoding="utf-8")
    body = text[text.index('"rows": [\n') + len('"rows": [\n') : text.rindex("\n ]\n}\n")]
    from_json = body.split(",\n  ") if body else []
    assert all(row.startswith("  ") for row in from_json[:1])
    from_json = [row.removeprefix("  ") if i == 0 else row for i, row in enumerate(from_json)]
    ndjson = lines.read_bytes().decode("utf-8").split("\n")
    assert ndjson[-1] == "" and json.loads(ndjson[0])["records"] == len(frame)
    return from_json, ndjson[1:-1]


@settings(
    max_examples=75,  # up to 9 records x 5 chunk sizes each: 75 examples meet every chunk boundary (150: +1.5 CPU-s)
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records=st.lists(record(), max_size=9), chunk_rows=st.integers(1, 5))
def test_records_are_the_standard_librarys_json_byte_for_byte(tmp_path, records, chunk_rows):
    frame = pd.DataFrame(records, columns=[v.name for v in DATASET.variables])
    frame = frame.astype({name: "float64" for name in ("NUM", "SEQ", "DT", "DTM", "TM")})
    frame["TEXT"] = frame["TEXT"].astype(object)
    from_json, from_ndjson = written_rows(tmp_path, frame, chunk_rows)
    expected = expected_rows(frame)
    assert from_ndjson == expected
    assert from_json == expected
    parsed = [json.loads(row) for row in from_ndjson]
    assert [row[0] for row in parsed] == ["" if pd.isna(t) else t for t in frame["TEXT"]]
    numbers = [row[1] for row in parsed]
    assert [n is None for n in numbers] == frame["NUM"].isna().tolist()
    assert all(
        np.copysign(1, got) == np.copysign(1, want) and got == want
        for got, want in zip(numbers, frame["NUM"], strict=True)
        if got is not None
    )


def test_chunks_where_a_column_is_constant_escaped_or_missing_join_up(tmp_path):
    """Constant columns are folded into the record template per chunk; the result must not depend on it."""
    frame = pd.DataFrame(
        {
            "TEXT": ["same", "same", 'q"uote', 'q"uote', None, "x"],
            "NUM": [-0.0, -0.0, 0.0, -0.0, np.nan, 1e16],
            "SEQ": [1.0, 1.0, 2.0, 3.0, np.nan, 4.0],
            "DT": [0.0, 0.0, -1.0, np.nan, np.nan, 19725.0],
            "DTM": [np.nan, np.nan, 3723.0, 3723.0, 60.0, 60.0],
            "TM": [0.0, 0.0, 86399.0, np.nan, 3723.0, 3723.0],
            "FLAG": ["Y", "Y", "", "", "N", "N"],
        }
    )
    from_json, from_ndjson = written_rows(tmp_path, frame, 2)
    assert from_ndjson == from_json == expected_rows(frame)
    assert from_ndjson[:3] == [
        '["same",-0.0,1,"1960-01-01",null,"00:00:00","Y"]',
        '["same",-0.0,1,"1960-01-01",null,"00:00:00","Y"]',
        '["q\\"uote",0.0,2,"1959-12-31","1960-01-01T01:02:03","23:59:59",""]',
    ]
    assert from_ndjson[3:5] == [
        '["q\\"uote",-0.0,3,null,"1960-01-01T01:02:03",null,""]',
        '["",null,null,null,"1960-01-01T00:01:00","01:02:03","N"]',
    ]


def test_a_dataset_without_variables_writes_empty_records(tmp_path):
    empty = Dataset(name="E", label="", purpose="Tabulation", variables=())
    document = prepare_dataset_json(pd.DataFrame(index=range(3)), empty)
    (lines,) = write_forms(document, ndjson_path=tmp_path / "e.ndjson", chunk_rows=2)
    assert lines.read_text().split("\n")[1:] == ["[]", "[]", "[]", ""]


@pytest.mark.parametrize("value", ["bad \udc80 surrogate", "\ud800"])
def test_text_utf8_cannot_hold_is_an_error_naming_the_record_and_nothing_is_written(tmp_path, value):
    frame = pd.DataFrame({"TEXT": ["ok", "fine", value], "FLAG": ["Y", "Y", "Y"]})
    frame = frame.assign(NUM=1.0, SEQ=1.0, DT=0.0, DTM=0.0, TM=0.0)
    document = prepare_dataset_json(frame, DATASET)
    with pytest.raises(WriteError, match=r"t\.json: T\.TEXT record 3: .* holds a character UTF-8 cannot encode"):
        write_forms(document, json_path=tmp_path / "t.json", ndjson_path=tmp_path / "t.ndjson", chunk_rows=2)
    assert list(tmp_path.iterdir()) == []
