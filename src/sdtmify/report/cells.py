"""What the builders produce: named cells (one recomputed number or text each) and tables of them.

A cell's key is ``<table or statistic id>/<row>/<column>``; comparison with the published values
and every renderer work from cells, so a number is computed once and shown the same everywhere."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MISSING_TEXT = "—"


@dataclass
class Cell:
    """One recomputed result.

    ``value`` is what is compared (a number or a text); ``display`` is how it is shown.
    ``count``/``n`` carry the whole-subject count and denominator behind a percentage, so that a
    published percentage can be checked against the count it stands for."""

    key: str
    value: object
    display: str
    count: int | None = None
    n: int | None = None
    censored: bool = False
    synthetic: str | None = None  # why this result rests on synthetic (unpublished) data
    detail: bool = False  # a supporting number (a denominator, a group median) not headlined


@dataclass
class Table:
    """A rendered table: ``frame`` holds display strings in the published layout."""

    id: str
    title: str
    frame: pd.DataFrame
    cells: dict[str, Cell] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def round_half_up(value: float, digits: int = 0) -> float:
    """Round as journals do (0.5 goes up), not to even as Python's round() does.

    The small epsilon absorbs binary representation error (e.g. 100*2/21 stored as 9.5238...)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    scale = 10**digits
    return math.floor(abs(value) * scale + 0.5 + 1e-9) / scale * (1 if value >= 0 else -1)


def percent(count: int, n: int, digits: int = 0) -> float:
    """100 * count / n rounded half up; NaN when there is no denominator."""
    return round_half_up(100.0 * count / n, digits) if n else math.nan


def is_missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def plain(value):
    """A numpy/pandas scalar as the plain Python value; whole floats as int (XPT stores numbers as doubles)."""
    if is_missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def format_number(value, digits: int | None = None) -> str:
    """A number as the publication prints it: to ``digits`` decimals when given, else whole numbers plain
    and others in their shortest form."""
    value = plain(value)
    if value is None:
        return MISSING_TEXT
    if isinstance(value, int):
        return f"{value:.{digits}f}" if digits else str(value)
    if isinstance(value, float):
        if digits is None:
            return f"{value:g}"
        return f"{round_half_up(value, digits):.{digits}f}"
    return str(value)


def format_p(p: float) -> str:
    """A P value to two significant digits (scientific notation when tiny, so nothing is hidden)."""
    if is_missing(p):
        return MISSING_TEXT
    return f"{p:.2g}"
