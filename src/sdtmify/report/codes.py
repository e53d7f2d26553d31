"""A text column as integer codes into its distinct values, found once per column for the whole report.

A report's conditions test the same few columns of the largest dataset again and again (each peak value of
a laboratory parameter selects ADLB records by PARAMCD and DTYPE). Comparing millions of Python strings
for every condition is the costly part; a column holds a few dozen distinct values. So a condition is
tested on the distinct values and spread back to the records through the codes (``hit[codes]``), and the
codes of a column are found once while :func:`shared_codes` is in force (a report's recomputation) and
kept with the column's array, so the next condition on that column does not look at its values again.

The codes come from :func:`sdtmify.distinct.factorize`: records sorted by their keys hold a column's values
in runs (PARAMCD within a subject), and only the first value of each run is hashed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import pandas as pd

from ..distinct import factorize

# key of a column's array -> (the array, kept alive so its address is not reused; codes; distinct values)
_Found = dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]]
_SHARED: ContextVar[_Found | None] = ContextVar("sdtmify_report_codes", default=None)


@contextmanager
def shared_codes() -> Iterator[None]:
    """Within the block, each column's codes are found once and reused by every later look-up of the same
    array (whichever Series or frame holds it). The arrays are held until the block ends: end it as soon
    as the datasets may be released."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _key(values: np.ndarray) -> tuple:
    """What identifies an array's values while it is held: where they are, their spacing and count."""
    return (values.__array_interface__["data"][0], values.strides, len(values), values.dtype.str)


def column_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``(codes, distinct)`` of an object column: ``distinct[codes]`` equals the column value by value, a
    missing value (code -1) being NaN, the last of ``distinct``; None when its values cannot be hashed
    (then compare them as they are)."""
    values = column.to_numpy()
    found = _SHARED.get()
    key = _key(values)
    if found is not None and key in found:
        return found[key][1], found[key][2]
    try:
        codes, distinct = factorize(values)
    except TypeError:  # unhashable values (lists): no distinct values to find
        return None
    # missing values (code -1) are all alike to a condition: one NaN, last, where distinct[-1] finds it
    coded = codes, np.append(np.asarray(distinct, dtype=object), np.nan)
    if found is not None:
        found[key] = (values, *coded)
    return coded
