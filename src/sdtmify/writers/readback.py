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
the same, and the validator holds both as text. Where the reader would decode the text by guessing (a
single-byte encoding with non-ASCII characters), where a Num column holds special missing values, or where
the file ends in all-blank records that readers drop, :func:`xpt_as_read` returns None: read the file."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd

from .. import xport
from ..metadata.model import Dataset
from ..readers import header_variable, num_data_type
from .xpt import sas_numbers

_SPECIAL_MISSING_KINDS = ("string", "mixed", "mixed-integer", "unicode")


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
            if values is None:
                return None
            data[var.name] = values
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


def _numbers_as_read(series: pd.Series, var: xport.XptVariable, dataset: str) -> np.ndarray | None:
    """float64 as read back: the original array where the IBM round trip leaves every value as it was."""
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in _SPECIAL_MISSING_KINDS:
        return None  # special missing values (.A-.Z) come back as text: the reader knows them from the file
    values = sas_numbers(series.reset_index(drop=True), var, dataset)
    patterns = xport.ibm_from_ieee(values)
    missing = np.isnan(values)
    patterns[missing] = np.uint64(0x2E) << np.uint64(56)
    if var.length < 8:  # SAS keeps the leading bytes
        patterns &= ~np.uint64(0) << np.uint64(8 * (8 - var.length))
    back = xport.ieee_from_ibm(patterns)
    if np.array_equal(back, values, equal_nan=True) and not np.signbit(values[values == 0]).any():
        return values
    return back


def _text_as_read(series: pd.Series, utf8: bool) -> object | None:
    """Text as read back: "" for missing, trailing blanks dropped; the original array when unchanged."""
    if pd.api.types.is_numeric_dtype(series.dtype):  # all missing (the writer refuses numbers in Char)
        return _as_text(np.full(len(series), "", dtype=object))
    values = series.to_numpy(dtype=object)
    missing = False
    try:  # NUL cannot be in XPT text (the writer refuses it): "x \0" marks a value with a trailing blank
        joined = "\0".join(values) + "\0"
    except TypeError:  # some values are missing (the join succeeds only on text, the usual case)
        missing = True
        values = np.where(pd.isna(values), "", values)
        try:
            joined = "\0".join(values) + "\0"
        except TypeError:
            return None
    if not utf8 and not joined.isascii():
        return None
    if " \0" in joined:
        values = pd.Series(values, dtype=object).str.rstrip(" ").to_numpy(dtype=object)
    elif not missing and isinstance(series.dtype, pd.StringDtype):
        return series.array
    return _as_text(values)


def _as_text(values: np.ndarray) -> pd.Series:
    """Text values as the validator normalizes them (``astype("str")``: pandas text, object before pandas 3)."""
    return pd.Series(values, dtype=object, index=pd.RangeIndex(len(values)), copy=False).astype("str")
