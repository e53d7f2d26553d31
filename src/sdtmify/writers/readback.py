"""The datasets as a reader gets them back from the XPT files just written, without reading the values again.

``sdtmify build`` validates the datasets it wrote and recomputes the report from them. Reading every XPT
file back (pyreadstat) costs as much as writing it and makes a second copy of every text value; instead
:func:`xpt_as_read` gives what :func:`sdtmify.readers.read_xpt` returns for the file, built from the frame
that was written and the file's header (its first few kilobytes). The values are the same because the
XPT round trip is known exactly (:mod:`sdtmify.writers.xpt`):

- text is blank-padded on write and read back without its trailing blanks; a missing value reads as "";
- numbers: IEEE 754 -> IBM is exact, except ``-0.0`` and magnitudes below 16**-65, which are written as 0,
  and a Num length under 8, which keeps the leading bytes; missing reads as NaN; datetimes as SAS numbers;
- names, labels, lengths and formats are those of the file's own header.

Character columns come back as pandas text (``str``) where the reader gives ``object``; the values are
the same, and the validator holds both as text. A Num column holding special missing values (``.A``-``.Z``,
``._``) comes back as the reader gives it, its codes read from the file at the missing records only. Where the
reader would decode the text by guessing (a single-byte encoding with non-ASCII characters), or where the file
ends in all-blank records that readers drop, :func:`xpt_as_read` returns None: read the file.

Memory: a column the round trip leaves as it was (text with no trailing blank and no missing value, numbers
IBM holds exactly: all but -0.0 and magnitudes below 16**-65 at length 8) is the frame's own array, not a
copy; only the columns that change get new arrays. Callers must not write into them (none does: the validator
and the report build new frames and arrays; pandas' copy-on-write keeps pandas-level writes to themselves)."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd

from .. import xport
from ..metadata.model import Dataset
from ..objects import distinct_objects
from ..readers import header_variable, num_data_type, with_special_missing
from .xpt import sas_numbers

_SPECIAL_MISSING_KINDS = ("string", "mixed", "mixed-integer", "unicode")
_IBM_SMALLEST = 16.0**-65  # the least magnitude an IBM double holds; the writer writes smaller ones as 0
_JOIN_BLOCK = 1 << 18  # text values joined at a time: a few MB, however long the column
_DISTINCT_FROM = 1000  # records from which a column's distinct objects are worth finding first


def xpt_as_read(
    frame: pd.DataFrame, dataset: Dataset, path: str | Path, encoding: str = "ascii"
) -> tuple[pd.DataFrame, Dataset] | None:
    """``(frame, Dataset)`` as :func:`sdtmify.readers.read_xpt` reads ``path``, the file
    :func:`sdtmify.writers.xpt.write_xpt` has just written from ``frame`` and ``dataset`` in ``encoding``;
    None when only reading the file can tell (see the module docstring). Columns the round trip leaves
    unchanged are shared with ``frame``, not copied."""
    path = Path(path)
    utf8 = codecs.lookup(encoding).name == "utf-8"
    member = xport.read_header(path, "utf-8")
    if member.observations != len(frame):
        return None  # trailing all-blank records inside the last 80 bytes: the reader drops them
    if not utf8 and not all(text.isascii() for text in (member.label, *(v.label for v in member.variables))):
        return None
    data: dict[str, object] = {}
    variables = []
    for var in member.variables:
        series = frame[var.name]
        if var.type == "Num":
            values = _numbers_as_read(series, var, dataset.name)
            data[var.name] = with_special_missing(member, var, values) if _has_text(series) else values
            data_type = num_data_type(values)
        else:
            text = _text_as_read(series, utf8)
            if text is None:
                return None
            data[var.name] = text
            data_type = "text"
        variables.append(header_variable(var, data_type))
    out = pd.DataFrame(data, index=pd.RangeIndex(len(frame)), copy=False)
    out.attrs["xpt"] = member
    out.attrs["encoding"] = "utf-8"  # the reader tries UTF-8 first, and ASCII or UTF-8 text decodes
    read = Dataset(name=member.name, label=member.label, purpose="", variables=tuple(variables), leaf=path.name)
    return out, read


def _has_text(series: pd.Series) -> bool:
    """Whether a Num column holds text: the special missing values the writer writes as their codes."""
    return series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in _SPECIAL_MISSING_KINDS


def _numbers_as_read(series: pd.Series, var: xport.XptVariable, dataset: str) -> np.ndarray:
    """float64 as read back (special missing values as NaN): the original array where the IBM round trip
    leaves every value as it was, which at length 8 two comparisons tell; else the values round-tripped."""
    values = sas_numbers(series.reset_index(drop=True), var, dataset)
    if var.length == 8:
        with np.errstate(invalid="ignore"):
            zero = values == 0
            changed = (np.abs(values) < _IBM_SMALLEST) & ~zero
        if not changed.any() and not np.signbit(values[zero]).any():
            return values
    patterns = xport.ibm_from_ieee(values)
    patterns[np.isnan(values)] = np.uint64(0x2E) << np.uint64(56)
    if var.length < 8:  # SAS keeps the leading bytes
        patterns &= ~np.uint64(0) << np.uint64(8 * (8 - var.length))
    return xport.ieee_from_ibm(patterns)


def _text_as_read(series: pd.Series, utf8: bool) -> object | None:
    """Text as read back: "" for missing, trailing blanks dropped; the original array when unchanged.

    A built column repeats few objects (:func:`sdtmify.objects.distinct_objects`): the values are tested,
    and changed where they must be, once per distinct object and spread back by position."""
    if pd.api.types.is_numeric_dtype(series.dtype):  # all missing (the writer refuses numbers in Char)
        return _as_text(np.full(len(series), "", dtype=object))
    values = series.to_numpy(dtype=object)
    found = distinct_objects(values) if len(values) >= _DISTINCT_FROM else None
    codes, distinct = found if found is not None else (None, values)
    flags = _text_flags(distinct)
    if flags is None:
        return None
    missing, trailing, ascii_only = flags
    if not utf8 and not ascii_only:
        return None
    if not missing and not trailing and isinstance(series.dtype, pd.StringDtype):
        return series.array
    if missing:
        distinct = np.where(pd.isna(distinct), "", distinct)
    if trailing:
        distinct = pd.Series(distinct, dtype=object).str.rstrip(" ").to_numpy(dtype=object)
    return _as_text(distinct if codes is None else distinct[codes])


def _text_flags(values: np.ndarray) -> tuple[bool, bool, bool] | None:
    """Whether any value is missing, ends in a blank, or is not ASCII; None if one is neither text nor
    missing. The values are joined a block at a time (NUL between them: the writer refuses it in text),
    which tells at C speed whether any is missing (the join fails), ends in a blank (" \\0") or is not
    ASCII, without a second copy of a whole column's text."""
    missing = trailing = False
    ascii_only = True
    for start in range(0, len(values), _JOIN_BLOCK):
        block = values[start : start + _JOIN_BLOCK]
        try:
            joined = "\0".join(block)
        except TypeError:  # some values are missing (the join succeeds only on text, the usual case)
            missing = True
            try:
                joined = "\0".join(np.where(pd.isna(block), "", block))
            except TypeError:
                return None
        trailing = trailing or " \0" in joined or joined.endswith(" ")
        ascii_only = ascii_only and joined.isascii()
    return missing, trailing, ascii_only


def _as_text(values: np.ndarray) -> pd.Series:
    """Text values as the validator normalizes them (``astype("str")``: pandas text, object before pandas 3)."""
    return pd.Series(values, dtype=object, index=pd.RangeIndex(len(values)), copy=False).astype("str")
