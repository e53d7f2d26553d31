"""``column``: the collected value as it is (sdtm.oak assign_no_ct)."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import Algorithm, register, source_text


def assign_column(spec, ctx: MappingContext, path) -> pd.Series:
    """The source column's value as collected, as text (SDTMIG 3.4 section 4.1: collected data are
    submitted as collected unless a rule standardizes them)."""
    return source_text(spec["column"], ctx, path)


ALGORITHM = register(
    Algorithm(
        "column",
        assign_column,
        {"column": {"type": "string", "description": "take a source column"}},
        "Copied from the collected source value without change.",
        origin="Collected",
    )
)
