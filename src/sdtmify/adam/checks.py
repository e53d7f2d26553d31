"""Argument checks run before a derivation touches data, with messages that say what to do."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..distinct import by_distinct
from ..errors import InputError


class AdamError(InputError):
    """An ADaM specification that cannot be applied to the data it was given."""


def assert_columns(frame: pd.DataFrame, columns: Iterable[str], dataset: str, derivation: str) -> None:
    """Every name in ``columns`` is a column of ``frame``, else an AdamError naming what is missing."""
    missing = [name for name in columns if name and name not in frame.columns]
    if missing:
        have = ", ".join(c for c in frame.columns if not c.startswith("_"))
        raise AdamError(
            f"{derivation}: {dataset} has no variable {', '.join(missing)}; "
            f"derive it in an earlier step or name one of: {have}"
        )


def assert_positive(value, name: str, derivation: str) -> None:
    if not isinstance(value, (int, float)) or value < 0:
        raise AdamError(f"{derivation}: {name} must be a number of days >= 0, got {value!r}")


def _is_in(column: pd.Series, values: list) -> pd.Series:
    """``column.isin(values)``, judged once per distinct value (records come in runs of a value)."""
    return by_distinct(column, lambda distinct: distinct.isin(values))


def filter_rows(
    frame: pd.DataFrame, where: dict | None, dataset: str, derivation: str, columns: list[str] | None = None
) -> pd.DataFrame:
    """Rows where every ``VARIABLE: value`` (or ``VARIABLE: [values]``) of ``where`` holds; only
    ``columns`` when given (one copy of the columns needed, not of the whole dataset).

    A value list means "one of"; a mapping ``{not: [values]}`` means "none of"."""
    if not where:
        return frame if columns is None else frame[columns]
    assert_columns(frame, where, dataset, derivation)
    keep = pd.Series(True, index=frame.index)
    for name, wanted in where.items():
        column = frame[name]
        if isinstance(wanted, dict) and "not" in wanted:
            values = wanted["not"] if isinstance(wanted["not"], list) else [wanted["not"]]
            keep &= ~_is_in(column, values)
        else:
            values = wanted if isinstance(wanted, list) else [wanted]
            keep &= _is_in(column, values)
    if keep.all():  # nothing to drop: no copy of millions of records
        return frame if columns is None else frame[columns]
    return frame.loc[keep] if columns is None else frame.loc[keep, columns]
