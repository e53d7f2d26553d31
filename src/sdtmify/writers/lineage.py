"""Lineage beside the datasets: for every record, the source table and row it came from.

One CSV per dataset (``lineage/<dataset>.csv``): the dataset's key variables, then SRCTABLE and
SRCROW (1-based data row of that source table; for records built from study.yaml or a mapping's
literal records, the file and item). Same bundle, same bytes.

The CSV is what pandas' ``to_csv(index=False, lineterminator="\\n")`` writes (Python's csv writer, minimal
quoting), encoded here a column at a time and written a block of records at a time: the csv writer's
per-record work was most of the stage at millions of records."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets import Bundle
from ..guard import hashed_file

BLOCK_RECORDS = 1 << 16  # records encoded and written at a time: a few MB of text, whatever the dataset's size


def _quoting_characters() -> str:
    """The characters that make Python's csv writer quote a field (minimal quoting, lineterminator "\\n"),
    asked of the writer itself: a bare carriage return is quoted only from CPython 3.11.9 / 3.12.3 on
    (CPython gh-67044), and the files must be what pandas writes on the Python that runs."""
    quoting = ""
    for character in ',"\n\r':
        probe = io.StringIO()
        csv.writer(probe, lineterminator="\n").writerow([f"a{character}b", "c"])
        if probe.getvalue().startswith('"'):
            quoting += character
    return quoting


QUOTING = _quoting_characters()


def _text(column: pd.Series) -> pd.Series:
    if column.dtype == "float64":
        return pd.Series(_number_text(column.to_numpy()), index=column.index, dtype=str)
    return column.astype(str)


def _number_text(values: np.ndarray) -> np.ndarray:
    """Numbers as Python prints them less a trailing ".0" ("12", "2.5"), "" for missing (object array).

    Printed once per distinct value, told apart by their bits (factorizing the numbers would make -0 and 0
    one value): key numbers repeat (--SEQ, VISITNUM, SAS dates). Whole numbers are printed by numpy in one
    pass, the others (fractions, -0, 1e+16 and beyond) through ``str`` and the ".0" pattern."""
    codes, uniques = pd.factorize(values.view(np.int64))
    distinct = uniques.view(np.float64)
    whole = (np.abs(distinct) < 1e15) & (distinct == np.trunc(distinct)) & ~((distinct == 0) & np.signbit(distinct))
    text = np.full(len(distinct), "", dtype=object)
    text[whole] = distinct[whole].astype(np.int64).astype(str)
    rest = ~(whole | np.isnan(distinct))
    if rest.any():
        printed = pd.Series(distinct[rest]).astype(str).str.replace(r"\.0$", "", regex=True)
        text[rest] = printed.to_numpy(dtype=object)
    return text[codes]


def _key_columns(frame: pd.DataFrame, keys: tuple[str, ...]) -> list[str]:
    columns = [k for k in keys if k in frame.columns] or [c for c in ("STUDYID", "USUBJID") if c in frame.columns]
    # --SEQ (or SUPP-- IDVARVAL/QNAM) pins one record when the natural keys do not
    columns += [c for c in frame.columns if (c.endswith("SEQ") or c in ("IDVARVAL", "QNAM")) and c not in columns]
    return columns


def lineage_frame(frame: pd.DataFrame, keys: tuple[str, ...], lineage: pd.DataFrame) -> pd.DataFrame:
    """Key variables of each record (as text) beside its SRCTABLE and SRCROW."""
    out = pd.DataFrame({name: _text(frame[name]) for name in _key_columns(frame, keys)}, index=frame.index)
    out["SRCTABLE"] = lineage["SRCTABLE"].astype(str).to_numpy()
    out["SRCROW"] = lineage["SRCROW"].astype("int64").to_numpy()
    return out


def csv_fields(text: pd.Series | np.ndarray) -> np.ndarray:
    """Text values as CSV fields (object array): "" for missing; a value holding a delimiter, a quote or
    a line end (:data:`QUOTING`) in double quotes, its quotes doubled -- as Python's csv writer writes them.

    Most key columns need no quotes and miss no value, which one join of the values tells (it fails on a
    missing value); otherwise the quoting is worked out once per distinct value."""
    values = np.asarray(text, dtype=object)
    try:
        joined = "".join(values)
    except TypeError:  # missing values (NaN, None) among the text
        values = np.where(pd.isna(values), "", values)
        joined = "".join(values)
    if not any(character in joined for character in QUOTING):
        return values
    codes, uniques = pd.factorize(values)
    distinct = pd.Series(uniques, dtype=object)
    quoted = distinct.where(
        ~distinct.str.contains(f"[{QUOTING}]", regex=True), '"' + distinct.str.replace('"', '""', regex=False) + '"'
    )
    return quoted.to_numpy(dtype=object)[codes]


def _fields(column: pd.Series) -> np.ndarray:
    """CSV fields of a key column, its values as :func:`lineage_frame` prints them (numbers need no quotes)."""
    if column.dtype == "float64":
        return _number_text(column.to_numpy())
    return csv_fields(column.astype(str))


def csv_records(fields: list[np.ndarray | list[str]]) -> str:
    """CSV records from their columns' fields (arrays or lists of :func:`csv_fields`), each ended by "\\n".

    One join of a list that holds, record after record, each field and the comma or line end after it:
    no tuple or string is made per record."""
    count, width = len(fields[0]), 2 * len(fields)
    if any(len(column) != count for column in fields):
        raise ValueError(f"csv_records: columns of {sorted({len(column) for column in fields})} fields")
    if not count:
        return ""
    items = [","] * (count * width)
    for j, column in enumerate(fields):
        items[2 * j :: width] = column if isinstance(column, list) else column.tolist()
    items[width - 1 :: width] = ["\n"] * count
    return "".join(items)


def _lineage_blocks(frame: pd.DataFrame, keys: tuple[str, ...], lineage: pd.DataFrame) -> Iterator[bytes]:
    """The lineage CSV of one dataset (the columns of :func:`lineage_frame`) as UTF-8, a block at a time: the
    header, then :data:`BLOCK_RECORDS` records per block."""
    columns = _key_columns(frame, keys)
    records = BLOCK_RECORDS
    header = csv_fields(np.array([*columns, "SRCTABLE", "SRCROW"], dtype=object))
    yield (",".join(header) + "\n").encode("utf-8")
    tables, rows = lineage["SRCTABLE"], lineage["SRCROW"]
    for start in range(0, len(frame), records):
        block = slice(start, start + records)
        fields: list[np.ndarray | list[str]] = [_fields(frame[name].iloc[block]) for name in columns]
        fields.append(csv_fields(tables.iloc[block].astype(str)))
        fields.append(list(map(str, rows.iloc[block].astype("int64").tolist())))
        yield csv_records(fields).encode("utf-8")


def write_lineage(bundle: Bundle, folder: str | Path) -> list[Path]:
    """Write ``<folder>/<dataset>.csv`` for every dataset with lineage; returns the paths written."""
    folder = Path(folder)
    written = []
    for name in sorted(bundle.datasets):
        built = bundle.datasets[name]
        if built.lineage is None:
            continue
        target = folder / f"{name.lower()}.csv"
        with hashed_file(target) as handle:
            for block in _lineage_blocks(built.frame, built.meta.keys, built.lineage):
                handle.write(block)
        written.append(target)
    return written
