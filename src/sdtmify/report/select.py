"""Record selection declared in report.yaml: ``where: {VAR: value | [values] | {op: value}}``.

All conditions are combined with AND, each evaluated on whole columns (no loop over records)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

OPERATORS = ("eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "missing")


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
        if variable not in frame.columns:
            raise KeyError(variable)
        mask &= _condition(frame[variable], test)
    return mask


def select(frame: pd.DataFrame, where: Mapping | None) -> pd.DataFrame:
    return frame.loc[where_mask(frame, where)]
