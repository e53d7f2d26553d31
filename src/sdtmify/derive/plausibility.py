"""Plausible ranges of numeric variables: a value outside is a data error to correct, not a result.

AGE is 0-130 years unless study.yaml says otherwise (``plausibility: ranges: {AGE: {min: 18, max: 90}}``);
any other numeric variable may be given a range the same way. The check only refuses, it never changes
a value, and it names the source row of the first offending record (the record's lineage)."""

from __future__ import annotations

import pandas as pd

DEFAULT_RANGES = {"AGE": (0.0, 130.0)}


def value_ranges(config) -> dict[str, tuple[float | None, float | None]]:
    """Variable -> (min, max) from the defaults and ``plausibility: ranges:`` (None: no bound on that side)."""
    ranges: dict[str, tuple[float | None, float | None]] = dict(DEFAULT_RANGES)
    declared = ((config or {}).get("plausibility") or {}).get("ranges") or {}
    for name, bounds in declared.items():
        low, high = ranges.get(name, (None, None))
        ranges[name] = (bounds.get("min", low), bounds.get("max", high))
    return ranges


def outside_range(values: pd.Series, low: float | None, high: float | None) -> pd.Series:
    """Records whose number lies below ``low`` or above ``high``; blanks and text are not judged here."""
    numbers = pd.to_numeric(values, errors="coerce")
    outside = pd.Series(False, index=values.index)
    if low is not None:
        outside |= numbers < low
    if high is not None:
        outside |= numbers > high
    return outside
