"""Record selection declared in report.yaml: ``where: {VAR: value | [values] | {op: value}}``, and the
lookup of every variable report.yaml names.

All conditions are combined with AND, each evaluated on whole columns (no loop over records); a condition
on a text column is tested on its distinct values and spread back to the records (:mod:`.codes`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..yamlio import suggest
from .codes import column_codes

OPERATORS = ("eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "missing")
# conditions on the value alone, so tested once per distinct value of a text column (report.codes)
_BY_DISTINCT = ("eq", "ne", "in", "not_in", "missing")


class UnknownVariable(LookupError):
    """A variable report.yaml names that the data an entry reads does not hold. Deliberately not a
    KeyError, so that a KeyError from a bug is never reported as a user's typo."""

    def __init__(self, name, columns: Iterable):
        self.name = name
        super().__init__(
            f"variable {name!r} not found in the data this entry reads{suggest(str(name), list(map(str, columns)))}"
        )


def require(frame: pd.DataFrame, *names) -> None:
    """Raise :class:`UnknownVariable` for the first of ``names`` (None ignored) ``frame`` lacks."""
    for name in names:
        if name is not None and name not in frame.columns:
            raise UnknownVariable(name, frame.columns)


def lookup(frame: pd.DataFrame, name) -> pd.Series:
    """``frame[name]`` for a variable report.yaml names; :class:`UnknownVariable` when absent."""
    require(frame, name)
    return frame[name]


def _condition(column: pd.Series, test) -> pd.Series:
    """One variable's condition as a boolean mask; missing values never satisfy a comparison."""
    if isinstance(test, Mapping):
        mask = pd.Series(True, index=column.index)
        for op, value in test.items():
            mask &= _operator(column, op, value)
        return mask
    if isinstance(test, list):
        return _operator(column, "in", test)
    return _operator(column, "eq", test)


def _operator(column: pd.Series, op: str, value) -> pd.Series:
    """``op`` on every value of ``column``; on a text column, on its distinct values only."""
    if column.dtype == object and op in _BY_DISTINCT:
        coded = column_codes(column)
        if coded is not None:
            codes, distinct = coded
            hit = _test(pd.Series(distinct, dtype=object), op, value).to_numpy(dtype=bool)
            return pd.Series(hit[codes], index=column.index)
    return _test(column, op, value)


def _test(column: pd.Series, op: str, value) -> pd.Series:
    present = column.notna()
    if op == "missing":
        return ~present if value else present
    if op in ("in", "not_in"):
        hit = column.isin(list(value)) & present
        return hit if op == "in" else ~hit & present
    if op in ("eq", "ne"):
        hit = (column == value).fillna(False).astype(bool) & present
        return hit if op == "eq" else ~hit & present
    numbers = pd.to_numeric(column, errors="coerce")
    compare = {"gt": np.greater, "ge": np.greater_equal, "lt": np.less, "le": np.less_equal}[op]
    return pd.Series(compare(numbers.to_numpy(dtype=float), float(value)), index=column.index) & numbers.notna()


def where_mask(frame: pd.DataFrame, where: Mapping | None) -> pd.Series:
    """Rows of ``frame`` meeting every condition of ``where`` (all rows when it is empty)."""
    mask = pd.Series(True, index=frame.index)
    for variable, test in (where or {}).items():
        mask &= _condition(lookup(frame, variable), test)
    return mask
