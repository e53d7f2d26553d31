"""Apply a column operation once per distinct value.

Clinical columns repeat: 5 million lab records hold a few hundred test names, units and visit
names and far fewer distinct dates than records. Text parsing (regex, datetime parsing) is the
costly part, so it runs on the distinct values and the result is spread back by position."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd


def by_distinct(values: pd.Series, operation: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``operation(values)`` computed on the distinct values only (missing counts as one value)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    if len(uniques) == len(values):
        return operation(values)
    result = operation(pd.Series(uniques, dtype=values.dtype if len(uniques) else object))
    taken = result.to_numpy()[codes] if len(values) else result.to_numpy()[:0]
    return pd.Series(taken, index=values.index, dtype=result.dtype, name=values.name)
