"""``transform``: text case and surrounding blanks (a modifier, applied first)."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import Algorithm, as_text, register


def transform(spec, values: pd.Series, ctx: MappingContext, path) -> pd.Series:
    """Text case and space: upper, lower, strip, title, capitalize (SDTMIG 3.4 section 4.3:
    text in upper case where CT or the IG asks for it, e.g. --TERM as collected but --DECOD upper)."""
    how = spec["transform"]
    text = as_text(values)
    return getattr(text.str, how)() if how != "strip" else text.str.strip()


ALGORITHM = register(
    Algorithm(
        "transform",
        transform,
        {"transform": {"type": "string", "enum": ["upper", "lower", "strip", "title", "capitalize"]}},
        "Changed to upper or lower case, or stripped of surrounding blanks.",
        modifier=True,
        rank=10,
    )
)
