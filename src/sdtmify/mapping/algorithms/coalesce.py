"""``coalesce``: the first non-blank of several expressions."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import Algorithm, as_text, evaluate, register


def coalesce(spec, ctx: MappingContext, path) -> pd.Series:
    """The first non-blank of several expressions, in the order listed (e.g. a numeric result, else
    its text form: SDTMIG 3.4 section 4.5.1, --ORRES holds the result as collected)."""
    result = None
    for i, item in enumerate(spec["coalesce"]):
        value = as_text(evaluate(item, ctx, [*path, "coalesce", i]))
        result = value if result is None else result.where(result != "", value)
    return result


ALGORITHM = register(
    Algorithm(
        "coalesce",
        coalesce,
        {"coalesce": {"type": "array", "minItems": 2, "items": {"$ref": "#/$defs/expression"}}},
        "The first non-blank of the listed source values.",
        origin="Collected",
    )
)
