"""Apply a column operation once per distinct value.

Clinical columns repeat: 5 million lab records hold a few hundred test names, units and visit
names and far fewer distinct dates than records. Text parsing (regex, datetime parsing) is the
costly part, so it runs on the distinct values and the result is spread back by position."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def by_distinct(values: pd.Series, operation: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``operation(values)`` computed on the distinct values only (missing counts as one value)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    if len(uniques) == len(values):
        return operation(values)
    result = operation(pd.Series(uniques, dtype=values.dtype if len(uniques) else object))
    taken = result.to_numpy()[codes] if len(values) else result.to_numpy()[:0]
    return pd.Series(taken, index=values.index, dtype=result.dtype, name=values.name)


def sort_order(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The positions that put ``frame`` in the order of ``columns`` (ascending, missing last, ties in
    their present order): ``frame.sort_values(columns, kind="mergesort")``'s order, with less work.
    Text and number columns are ranked by their sorted distinct values (one hash pass each) and a
    column holding one value all through (STUDYID, a single source's SRCTABLE) is left out: it cannot
    change the order; integers are compared as they are; other dtypes are ranked as pandas ranks them
    (Categorical)."""
    ranks = []
    for column in columns:
        values = frame[column]
        if values.dtype == "int64":
            ranks.append(values.to_numpy())
            continue
        if values.dtype != "str" and values.dtype != "float64":
            category = pd.Categorical(values, ordered=True)
            ranks.append(np.where(category.codes < 0, len(category.categories), category.codes))
            continue
        array = values.to_numpy(dtype=object) if values.dtype == "str" else values.to_numpy()
        # text only (a scan of value types, cheaper than isna) or no NaN: a constant column can go
        text_only = values.dtype == "str" and pd.api.types.infer_dtype(array, skipna=False) == "string"
        if len(array) and (text_only or not values.isna().any()) and bool((array == array[0]).all()):
            continue
        codes, distinct = pd.factorize(values, sort=True)
        ranks.append(np.where(codes < 0, len(distinct), codes))
    if not ranks:
        return np.arange(len(frame))
    return np.lexsort(ranks[::-1])
