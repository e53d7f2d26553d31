"""ISO 8601 date/time text as SDTM uses it (SDTMIG 3.4 section 4.4): validity, precision, comparison.

All functions take and return whole columns (vectorized); none loops over records."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..distinct import by_distinct

# SDTMIG 4.4.2: YYYY[-MM[-DD[Thh[:mm[:ss[.f]]]]]], right-truncated for partial dates; SDTMIG 4.4.3
# also allows "-" for a missing middle component (e.g. 2004---15, 2004-12-15T-:30).
_COMPONENT = r"(?:\d{4}|-)(?:-(?:\d{2}|-)(?:-(?:\d{2}|-)(?:T(?:\d{2}|-)(?::(?:\d{2}|-)(?::\d{2}(?:\.\d+)?)?)?)?)?)?"
_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)?"
DATETIME_PATTERN = rf"{_COMPONENT}{_OFFSET}"
# ISO 8601 durations (SDTMIG 4.4.4: --DUR, --EVLINT), e.g. P1Y2M, PT36H, P2W.
DURATION_PATTERN = r"-?P(?:\d+(?:[.,]\d+)?W|(?:\d+(?:[.,]\d+)?Y)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?D)?(?:T(?:\d+(?:[.,]\d+)?H)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?S)?)?)"
INTERVAL_PATTERN = rf"(?:{DATETIME_PATTERN}|{DURATION_PATTERN})/(?:{DATETIME_PATTERN}|{DURATION_PATTERN})"

PRECISIONS = (4, 7, 10, 13, 16, 19)  # year, month, day, hour, minute, second
# The complete leading components, each only after the one before: the match's length is the precision.
_COMPLETE = r"^(\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}(?::\d{2}(?::\d{2})?)?)?)?)?)"


def _per_distinct(fn):
    """Run a text -> array function once per distinct value (dates repeat, even in small datasets)."""

    def wrapper(text: pd.Series, *args, **kwargs):
        return by_distinct(
            text, lambda distinct: pd.Series(fn(distinct, *args, **kwargs), index=distinct.index)
        ).to_numpy()

    wrapper.__doc__, wrapper.__name__ = fn.__doc__, fn.__name__
    return wrapper


@_per_distinct
def is_valid(text: pd.Series, allow_duration: bool = False) -> np.ndarray:
    """True where ``text`` is a valid ISO 8601 date/datetime (or duration/interval when allowed).

    Besides the pattern, a complete date must exist on the calendar (2013-02-30 is invalid) and
    hours/minutes/seconds must be in range."""
    pattern = DATETIME_PATTERN
    if allow_duration:
        pattern = f"(?:{DATETIME_PATTERN}|{DURATION_PATTERN}|{INTERVAL_PATTERN})"
    ok = text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool).copy()
    dated = ok & text.str.match(r"\d{4}-\d{2}-\d{2}").fillna(False).to_numpy(dtype=bool)
    if dated.any():
        days = pd.to_datetime(text[dated].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        bad = np.flatnonzero(dated)[days.isna().to_numpy()]
        ok[bad] = False
    months = text.str.extract(r"^\d{4}-(\d{2})", expand=False)
    ok &= ~pd.to_numeric(months, errors="coerce").pipe(lambda m: (m < 1) | (m > 12)).to_numpy(dtype=bool)
    clock = text.str.extract(r"T(\d{2})(?::(\d{2}))?(?::(\d{2}))?")
    for col, top in zip(clock.columns, (24, 59, 59), strict=False):
        value = pd.to_numeric(clock[col], errors="coerce")
        ok &= ~(value > top).to_numpy(dtype=bool)
    return ok


@_per_distinct
def precision(text: pd.Series) -> np.ndarray:
    """Number of leading characters that are complete: 4 year .. 19 seconds; 0 if not a date.

    A date with a missing middle component ("2004---15") counts only up to the first gap. One pass: the
    longest run of complete components at the start (each optional group nests the next)."""
    if not len(text):
        return np.zeros(0, dtype=np.int8)
    complete = text.astype("str").str.extract(_COMPLETE, expand=False)
    return complete.str.len().fillna(0).to_numpy(dtype=np.int8)


def compare(
    left: pd.Series, right: pd.Series, left_precision: np.ndarray | None = None, right_precision=None
) -> np.ndarray:
    """-1 / 0 / +1 comparing two ISO 8601 columns at their common precision; 0 where either is not a date.
    The precisions (:func:`precision` of each column) may be given when the caller has them.

    SDTMIG 4.4: a partial date is an interval, so 2013-05 is neither before nor after 2013-05-09."""
    lp = precision(left) if left_precision is None else left_precision
    rp = precision(right) if right_precision is None else right_precision
    common = np.minimum(lp, rp)
    out = np.zeros(len(left), dtype=np.int8)
    for size in PRECISIONS:
        rows = common == size
        if not rows.any():
            continue
        a = left[rows].str.slice(0, size).to_numpy(dtype=object)
        b = right[rows].str.slice(0, size).to_numpy(dtype=object)
        out[rows] = np.where(a < b, -1, np.where(a > b, 1, 0))
    return out
