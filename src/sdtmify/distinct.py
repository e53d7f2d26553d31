"""Apply a column operation once per distinct value.

Clinical columns repeat: 5 million lab records hold a few hundred test names, units and visit
names and far fewer distinct dates than records. Text parsing (regex, datetime parsing) is the
costly part, so it runs on the distinct values and the result is spread back by position.

Finding the distinct values is itself the costly part at scale, so there are cheaper equivalents of
``pd.factorize`` for the shapes columns come in: :func:`factorize` for values in runs (records in key
order), :func:`factorize_text` for a str column with missing values coded -1, and, for a built column
that repeats a few Python objects, :func:`sdtmify.objects.factorize_objects`. Each gives pandas' codes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

_PROBE = 4096  # records looked at to judge whether a column comes in runs
_WINDOWS = 8  # in as many stretches


def factorize(values, sort: bool = False, use_na_sentinel: bool = True) -> tuple[np.ndarray, Any]:
    """``pd.factorize(values, sort=sort, use_na_sentinel=use_na_sentinel)``: the same codes and distinct
    values, with less work when equal values come in runs, as records do (a subject's records follow one
    another, the tests of one lab draw share its date): only the first value of each run is hashed
    and its code repeated over the run. Hashing text is the costly part; comparing each value with
    the one before it costs a fraction of it. A column without runs is factorized as it is."""
    heads = _run_heads(values)
    if heads is None:
        return pd.factorize(values, sort=sort, use_na_sentinel=use_na_sentinel)
    firsts = values.iloc[heads] if isinstance(values, (pd.Series, pd.Index)) else values[heads]
    codes, uniques = pd.factorize(firsts, sort=sort, use_na_sentinel=use_na_sentinel)
    return np.repeat(codes, np.diff(np.append(heads, len(values)))), uniques


def _run_heads(values) -> np.ndarray | None:
    """The positions where a run of equal values starts, or None when runs are too short to pay
    (a quarter of the records start one) or the values cannot be compared as an array."""
    if len(values) < 2 * _PROBE:
        return None
    if isinstance(values, (pd.Series, pd.Index)):
        if not (values.dtype == "str" or (isinstance(values.dtype, np.dtype) and values.dtype.kind in "iufbO")):
            return None
        array = values.to_numpy(dtype=object) if values.dtype == "str" else values.to_numpy()
    elif isinstance(values, np.ndarray) and values.ndim == 1:
        array = values
    else:
        return None
    try:
        # a look at a few stretches spread over the column (one domain's records may lead a column of several)
        window = _PROBE // _WINDOWS
        starts = np.linspace(0, len(array) - window, _WINDOWS).astype(np.int64)
        probe = array[(starts[:, None] + np.arange(window)).ravel()].reshape(_WINDOWS, window)
        if np.count_nonzero(probe[:, 1:] != probe[:, :-1]) > _PROBE // 4:
            return None
        changes = array[1:] != array[:-1]
    except (TypeError, ValueError):  # values that do not compare to a truth value (pd.NA)
        return None
    if changes.dtype != bool or np.count_nonzero(changes) > len(array) // 4:
        return None
    return np.flatnonzero(np.r_[True, changes])


def factorize_text(values: pd.Series, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=...)``: each record's code (-1 for missing) and the distinct values (an
    object array), in order of first appearance or sorted. A str column is factorized as its array of
    Python strings: the str dtype's own factorize also compares every value with its NaN marker, about
    twice the work on a column of millions of records; codes and distinct values are the same. (Not so
    with ``use_na_sentinel=False``, where pandas first looks for missing values in an object array.)"""
    array = values.to_numpy(dtype=object) if values.dtype == "str" else values
    codes, uniques = pd.factorize(array, sort=sort)
    return codes, np.asarray(uniques, dtype=object)


def group_codes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Each record's combination of ``columns``' values as a number 0, 1, ... in the order the
    combinations first appear, a missing value being a value of its own:
    ``frame.groupby(columns, sort=False, dropna=False).ngroup()``, from integer codes of each column
    (:func:`factorize`) combined, not from tuples of text."""
    codes = (factorize(frame[column], use_na_sentinel=False)[0] for column in columns)
    return factorize(combined_codes(codes, len(frame)))[0]


def combined_codes(codes: Iterable[np.ndarray], size: int) -> np.ndarray:
    """One int64 per record for its combination of ``codes`` (arrays of ``size`` non-negative codes, one per
    column): equal exactly where every column's code is equal. The codes are combined arithmetically; the
    combinations so far are renumbered (:func:`first_appearance_codes`) whenever the next column would
    take them past 62 bits."""
    combined = np.zeros(size, dtype=np.int64)
    span = 1  # combined < span
    for here in codes:
        width = int(here.max(initial=0)) + 1
        if span * width >= 1 << 62:
            combined = first_appearance_codes(combined)
            span = int(combined.max(initial=0)) + 1
        combined = combined * width + here
        span *= width
    return combined


def first_appearance_codes(codes: np.ndarray) -> np.ndarray:
    """``pd.factorize(codes)[0]`` as int64. Codes that never decrease (a dataset sorted by the columns
    combined: its records are in order of their keys, as SDTMIG 3.2.1.1 sorts them) are numbered by
    counting where they change, without hashing millions of distinct combinations."""
    if len(codes) and not (codes[1:] < codes[:-1]).any():
        numbered = np.empty(len(codes), dtype=np.int64)
        numbered[0] = 0
        np.cumsum(codes[1:] != codes[:-1], out=numbered[1:])
        return numbered
    return pd.factorize(codes)[0].astype(np.int64)


def by_distinct(values: pd.Series, operation: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``operation(values)`` computed on the distinct values only (missing counts as one value)."""
    codes, uniques = factorize(values, use_na_sentinel=False)
    if len(uniques) == len(values):
        return operation(values)
    result = operation(pd.Series(uniques, dtype=values.dtype if len(uniques) else object))
    if isinstance(result, pd.Series):  # taken as it holds them: a text result is not checked value by value again
        spread = result.take(codes).set_axis(values.index)
        spread.name = values.name
        return spread
    taken = result.to_numpy()[codes] if len(values) else result.to_numpy()[:0]
    return pd.Series(taken, index=values.index, dtype=result.dtype, name=values.name)


def sort_order(frame: pd.DataFrame, columns: list[str], missing_first: bool = False) -> np.ndarray:
    """The positions that put ``frame`` in the order of ``columns`` (ascending, missing last, ties in
    their present order): ``frame.sort_values(columns, kind="mergesort")``'s order, with less work;
    ``missing_first``: missing values first (``na_position="first"``).
    Text and number columns are ranked by their sorted distinct values (one hash pass each) and a
    column holding one value all through (STUDYID, a single source's SRCTABLE) is left out: it cannot
    change the order; integers are compared as they are; other dtypes are ranked as pandas ranks them
    (Categorical). The ranks are then put in order at once (:func:`lexical_order`)."""
    ranks: list[np.ndarray] = []
    sizes: list[int | None] = []
    for column in columns:
        values = frame[column]
        if values.dtype == "int64":
            ranks.append(values.to_numpy())
            sizes.append(None)  # the range of the values, found only if the ranks are combined
            continue
        if values.dtype != "str" and values.dtype != "float64":
            category = pd.Categorical(values, ordered=True)
            ranks.append(_placed(category.codes, len(category.categories), missing_first))
            sizes.append(len(category.categories) + 1)
            continue
        array = values.to_numpy(dtype=object) if values.dtype == "str" else values.to_numpy()
        # text only (a scan of value types, cheaper than isna) or no NaN: a constant column can go
        text_only = values.dtype == "str" and pd.api.types.infer_dtype(array, skipna=False) == "string"
        if len(array) and (text_only or not values.isna().any()) and bool((array == array[0]).all()):
            continue
        codes, distinct = factorize(values, sort=True)
        ranks.append(_placed(codes, len(distinct), missing_first))
        sizes.append(len(distinct) + 1)
    return lexical_order(ranks, sizes, len(frame))


def _placed(codes: np.ndarray, count: int, missing_first: bool) -> np.ndarray:
    """Codes 0..count-1 with missing (-1) ranked after them, or before them when ``missing_first``."""
    if missing_first:
        return codes.astype("int64") + 1
    return np.where(codes < 0, count, codes)


def lexical_order(ranks: list[np.ndarray], sizes: list[int | None], length: int) -> np.ndarray:
    """``np.lexsort(ranks[::-1])``: the positions that order records by the first rank, then the second...,
    ties in their present order. Non-negative ranks below their ``size`` (None: any integers) are combined
    into one 64-bit key (first rank most significant) when they fit, and that key is sorted once (stable):
    lexsort sorts once per rank, several times the work on millions of records."""
    if not ranks:
        return np.arange(length)
    spans, shifted = 1, []
    for rank, size in zip(ranks, sizes, strict=True):
        if size is None:
            low, high = (int(rank.min()), int(rank.max())) if len(rank) else (0, 0)
            size = high - low + 1
            rank = rank - low if low else rank
        spans *= max(size, 1)
        shifted.append((rank, size))
    if spans >= 2**63:  # too many combinations for one key
        return np.lexsort(ranks[::-1])
    key = shifted[0][0].astype("int64", copy=len(shifted) > 1)
    for rank, size in shifted[1:]:
        key *= size
        key += rank
    return np.argsort(key, kind="stable")
