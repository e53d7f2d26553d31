"""Fuzz the source and dataset readers (CSV, XLSX, XPT, Dataset-JSON): any file gives a table or an
error naming the file, never another exception."""

from __future__ import annotations

import io
import json
from functools import cache

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from sdtmify import readers
from sdtmify.errors import InputError
from sdtmify.sources import read_source

from .fuzzing import SETTINGS, located, scratch


def _damaged(base: bytes):
    """``base`` truncated, with bytes overwritten and bytes inserted at random places."""

    def damage(cut: int, flips: list[tuple[int, int]], inserts: list[tuple[int, bytes]]) -> bytes:
        data = bytearray(base)
        for at, value in flips:
            if data:
                data[at % len(data)] = value
        for at, piece in inserts:
            at = at % (len(data) + 1)
            data[at:at] = piece
        return bytes(data[: cut % (len(data) + 2)]) if cut % 3 == 0 else bytes(data)

    return st.builds(
        damage,
        st.integers(0, 1 << 20),
        st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=6),
        st.lists(st.tuples(st.integers(0, 1 << 20), st.binary(max_size=90)), max_size=2),
    )


# ---- CSV ----------------------------------------------------------------------------------------
_CSV_BITS = st.sampled_from(
    ["a", "b", "1", "2.5", ",", ",", '"', '""', "\n", "\r\n", " ", "é", "\x00", "\ufeff", "x,y"]
)
_CSV = st.one_of(
    st.binary(max_size=300),
    st.lists(_CSV_BITS, max_size=80).map(lambda parts: "".join(parts).encode("utf-8")),
    st.lists(_CSV_BITS, max_size=80).map(lambda parts: "".join(parts).encode("latin-1", errors="replace")),
)


@SETTINGS
@given(_CSV, st.sampled_from([None, "latin-1", "utf-16", "klingon"]))
def test_csv_source_gives_a_table_or_a_located_error(data, encoding):
    path = scratch("source.csv", data)
    try:
        frame = read_source(path, "csv", encoding=encoding, name="fuzz")
    except InputError as error:
        located(error, path)
        return
    assert frame["SRCROW"].tolist() == list(range(1, len(frame) + 1))
    assert all(frame[c].map(type).eq(str).all() for c in frame.columns if c != "SRCROW")


@SETTINGS
@given(_CSV)
def test_csv_dataset_gives_a_table_or_a_located_error(data):
    path = scratch("dataset.csv", data)
    try:
        frame, dataset = readers.read_csv(path)
    except InputError as error:
        located(error, path)
        return
    assert [v.name for v in dataset.variables] == list(frame.columns)


# ---- XLSX ---------------------------------------------------------------------------------------
@cache
def _workbook() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"subject_id": ["A", "B"], "visit_date": ["2002-10-01", "x"], "value": [1.5, None]}).to_excel(
        buffer, index=False, engine="openpyxl"
    )
    return buffer.getvalue()


@SETTINGS
@given(st.one_of(st.binary(max_size=200), st.deferred(lambda: _damaged(_workbook()))))
def test_xlsx_source_gives_a_table_or_a_located_error(data):
    path = scratch("source.xlsx", data)
    try:
        frame = read_source(path, "xlsx", name="fuzz")
    except InputError as error:
        located(error, path)
        return
    assert "SRCROW" in frame.columns


# ---- XPT ----------------------------------------------------------------------------------------
@cache
def _transport() -> bytes:
    from sdtmify.metadata.model import Dataset, Variable
    from sdtmify.writers.xpt import write_xpt

    frame = pd.DataFrame(
        {"USUBJID": ["S-1", "S-2", "S-3"], "AGE": [52.0, np.nan, 41.0], "AESTDTC": ["2002-10-14", "", "2003"]}
    )
    dataset = Dataset(
        name="AE",
        label="Adverse Events",
        purpose="Tabulation",
        variables=(
            Variable(name="USUBJID", label="Subject", type="Char", length=8, data_type="text", order=1),
            Variable(name="AGE", label="Age", type="Num", length=8, data_type="float", order=2),
            Variable(name="AESTDTC", label="Start", type="Char", length=10, data_type="text", order=3),
        ),
    )
    path = scratch("base.xpt", b"")
    write_xpt(frame, dataset, path)
    return path.read_bytes()


@SETTINGS
@given(st.deferred(lambda: _damaged(_transport())), st.booleans())
def test_xpt_gives_a_dataset_or_a_located_error(data, as_source):
    path = scratch("dataset.xpt", data)
    try:
        if as_source:
            frame = read_source(path, "xpt", name="fuzz")
        else:
            frame, dataset = readers.read_xpt(path)
            assert [v.name for v in dataset.variables] == list(frame.columns)
    except InputError as error:
        located(error, path)
        return
    assert len(frame) <= 3 + len(data) // 8


# ---- Dataset-JSON -------------------------------------------------------------------------------
_BASE = {
    "datasetJSONCreationDateTime": "2026-01-01T00:00:00",
    "datasetJSONVersion": "1.1.0",
    "itemGroupOID": "IG.AE",
    "records": 2,
    "name": "AE",
    "label": "Adverse Events",
    "columns": [
        {"itemOID": "IT.AE.USUBJID", "name": "USUBJID", "label": "Subject", "dataType": "string", "length": 8},
        {"itemOID": "IT.AE.AESEQ", "name": "AESEQ", "label": "Sequence", "dataType": "integer"},
        {"itemOID": "IT.AE.AGE", "name": "AGE", "label": "Age", "dataType": "double"},
        {"itemOID": "IT.AE.ADT", "name": "ADT", "label": "Date", "dataType": "date", "targetDataType": "integer"},
    ],
    "rows": [["S-1", 1, 52.5, "2002-10-14"], ["S-2", 2, None, None]],
}
_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


def _edited(paths: list[tuple[int, int, int]], values: list) -> bytes:
    """The base document with values replaced at pseudo-random places (top-level keys, columns, cells)."""
    document = json.loads(json.dumps(_BASE))
    for (kind, i, j), value in zip(paths, values, strict=False):
        try:
            if kind == 0:
                key = sorted(document)[i % len(document)]
                if j % 4 == 0:
                    document.pop(key)
                else:
                    document[key] = value
            elif kind == 1:
                column = document["columns"][i % 4]
                key = sorted(column)[j % len(column)]
                column[key] = value
            else:
                row = document["rows"][i % 2]
                row[j % len(row)] = value
        except (KeyError, TypeError, IndexError, ZeroDivisionError, AttributeError):
            continue  # an earlier edit already changed that part's shape
    return json.dumps(document).encode()


_DATASET_JSON = st.one_of(
    st.builds(
        _edited,
        st.lists(st.tuples(st.integers(0, 2), st.integers(0, 50), st.integers(0, 50)), max_size=4),
        st.lists(_JSON_VALUES, max_size=4),
    ),
    _damaged(json.dumps(_BASE).encode()),
    st.binary(max_size=200),
)


@SETTINGS
@given(_DATASET_JSON, st.booleans())
def test_dataset_json_gives_a_dataset_or_a_located_error(data, ndjson):
    if ndjson:
        try:
            document = json.loads(data)
            rows = document.pop("rows", []) if isinstance(document, dict) else []
            data = (json.dumps(document) + "\n" + "\n".join(json.dumps(r) for r in rows)).encode()
        except (ValueError, TypeError, RecursionError):
            pass
    path = scratch("dataset.ndjson" if ndjson else "dataset.json", data)
    try:
        frame, dataset = readers.read_dataset_json(path)
    except InputError as error:
        located(error, path)
        return
    assert [v.name for v in dataset.variables] == list(frame.columns)
