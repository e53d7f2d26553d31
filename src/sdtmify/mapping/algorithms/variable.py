"""``variable``: a variable computed earlier in the same mapping file."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import Algorithm, register


def assign_variable(spec, ctx: MappingContext, path) -> pd.Series:
    """The value of a variable computed earlier for the same record (e.g. --STRESC from --ORRES,
    SDTMIG 3.4 section 4.5.1 when no standardization applies)."""
    return ctx.variable(spec["variable"], [*path, "variable"]).copy()


ALGORITHM = register(
    Algorithm(
        "variable",
        assign_variable,
        {"variable": {"type": "string", "description": "take a variable computed earlier in this file"}},
        "Copied from another variable of the same record.",
    )
)
