"""The lineage CSV is what pandas' to_csv writes from lineage_frame, byte for byte, and csv reads it back.

The writer encodes the CSV itself, a column at a time and a block of records at a time; pandas (Python's csv
writer, minimal quoting) is the reference it must equal on awkward text: quotes, commas, line ends,
non-ASCII, empty and missing values, and numbers that print oddly (-0, 1e+16, fractions)."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdtmify.datasets import BuiltDataset, Bundle
from sdtmify.metadata.model import Dataset, StudyMetadata
from sdtmify.writers import lineage as lineage_module
from sdtmify.writers.lineage import QUOTING, lineage_frame, write_lineage

AWKWARD = st.text(alphabet=st.sampled_from(list("ab ,\"\n\r'é€γ\t;")), max_size=6)
TEXT = st.one_of(st.none(), st.just(""), st.just('"'), st.just(","), AWKWARD)
NUMBER = st.one_of(
    st.sampled_from([np.nan, 0.0, -0.0, 1.0, -3.0, 2.5, 1e15, 1e16, 999999999999999.8, 1e-07, 0.1 + 0.2]),
    st.integers(min_value=-(10**6), max_value=10**6).map(float),
    st.floats(allow_nan=False, allow_infinity=False),
)
RECORD = st.tuples(TEXT, TEXT, NUMBER, TEXT, st.integers(min_value=1, max_value=10**12))


def _bundle(records: list[tuple]) -> Bundle:
    usubjid, term, seq, table, row = (list(column) for column in zip(*records, strict=True)) if records else [[]] * 5
    frame = pd.DataFrame(
        {
            "USUBJID": pd.Series(usubjid, dtype="str"),
            "AETERM": pd.Series(term, dtype=object),  # an object column: printed by astype(str) as before
            "AESEQ": pd.Series(seq, dtype="float64"),
        }
    )
    lineage = pd.DataFrame({"SRCTABLE": pd.Series(table, dtype=object), "SRCROW": pd.Series(row, dtype="float64")})
    meta = Dataset(name="AE", label="Adverse Events", purpose="Tabulation", keys=("USUBJID", "AETERM"))
    metadata = StudyMetadata(study_oid="S", study_name="S", description="", protocol_name="")
    return Bundle("SDTM", {"AE": BuiltDataset(frame, meta, lineage)}, metadata)


def _written_and_expected(bundle: Bundle) -> tuple[bytes, bytes, pd.DataFrame]:
    """What write_lineage writes, what pandas writes from lineage_frame (the writer before it encoded CSV
    itself), and lineage_frame."""
    built = bundle.datasets["AE"]
    table = lineage_frame(built.frame, built.meta.keys, built.lineage)
    with tempfile.TemporaryDirectory() as folder:
        (path,) = write_lineage(bundle, folder)
        written = path.read_bytes()
        reference = Path(folder) / "reference.csv"
        table.to_csv(reference, index=False, lineterminator="\n", encoding="utf-8")
        expected = reference.read_bytes()
    return written, expected, table


@settings(max_examples=60, deadline=None)
@given(records=st.lists(RECORD, max_size=12), block=st.integers(min_value=1, max_value=5))
def test_lineage_csv_is_what_pandas_writes_and_csv_reads_back(records, block):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lineage_module, "BLOCK_RECORDS", block)  # blocks of 1-5 records: every seam is crossed
        written, expected, table = _written_and_expected(_bundle(records))
    assert written == expected

    # csv reads the values back, unless a bare carriage return is left unquoted (Python's csv writer before
    # CPython 3.11.9 / 3.12.3 does that, and pandas with it; the file is then what pandas writes, as above)
    values = table.astype(object).where(table.notna(), "").astype(str)
    if "\r" not in QUOTING and values.apply(lambda column: column.str.contains("\r")).to_numpy().any():
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ae.csv"
        path.write_bytes(written)
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    assert rows[0] == list(table.columns)
    assert rows[1:] == values.to_numpy().tolist()


def test_quoted_fields_and_number_texts_are_written_as_python_prints_them():
    records = [
        ('S-1, "A"', "RASH\nITCHY", -0.0, "ae.csv", 3),
        ("S-2", None, 1e16, "ae", 12),
        ("", "ÉRYTHÈME", 2.5, None, 1),
    ]
    written, expected, _ = _written_and_expected(_bundle(records))
    assert written == expected
    assert written.decode("utf-8") == (
        "USUBJID,AETERM,AESEQ,SRCTABLE,SRCROW\n"
        '"S-1, ""A""","RASH\nITCHY",-0,ae.csv,3\n'
        "S-2,,1e+16,ae,12\n"
        ",ÉRYTHÈME,2.5,,1\n"
    )


def test_a_dataset_without_records_gives_the_header_alone():
    written, expected, _ = _written_and_expected(_bundle([]))
    assert written == expected == b"USUBJID,AETERM,AESEQ,SRCTABLE,SRCROW\n"
