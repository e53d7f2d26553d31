"""``default``: a value for blanks (a modifier)."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import Algorithm, as_text, register


def fill_default(spec, values: pd.Series, ctx: MappingContext, path) -> pd.Series:
    """Blank values take the stated default (e.g. --OCCUR "N" for a pre-specified term not ticked,
    SDTMIG 3.4 section 4.5.7)."""
    text = as_text(values)
    return text.where(text != "", "" if spec["default"] is None else str(spec["default"]))


ALGORITHM = register(
    Algorithm(
        "default",
        fill_default,
        {"default": {"$ref": "#/$defs/scalar"}},
        "Blank values set to the stated default.",
        modifier=True,
        rank=30,
    )
)
