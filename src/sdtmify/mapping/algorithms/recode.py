"""``map`` + ``unmapped``: recode through an explicit table (a modifier; sdtm.oak assign_ct with a
study-specific table)."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import Algorithm, as_text, register


def recode(spec, values: pd.Series, ctx: MappingContext, path) -> pd.Series:
    """Recode through an explicit table; values not in it are an error (default), kept or blanked.

    A value the table does not know is never passed through silently unless the mapping says so
    (SDTMIG 3.4 section 4.3: a collected value is either submitted as collected or mapped to CT)."""
    table = {str(k): "" if v is None else str(v) for k, v in spec["map"].items()}
    text = as_text(values)
    mapped = text.map(table)
    unmapped = mapped.isna() & (text != "")
    policy = spec.get("unmapped", "error")
    if unmapped.any() and policy == "error":
        missing = sorted(set(text[unmapped]))
        raise ctx.error(
            [*path, "map"],
            f"values not in the map: {', '.join(repr(m) for m in missing[:5])} "
            f"({ctx.row_numbers(unmapped, 1)}); add them to 'map' or set "
            f"'unmapped: keep'",
        )
    fallback = text if policy == "keep" else pd.Series("", index=text.index)
    return mapped.where(~mapped.isna(), fallback.where(text != "", "")).astype(str)


ALGORITHM = register(
    Algorithm(
        "map",
        recode,
        {
            "map": {"type": "object", "additionalProperties": {"type": ["string", "number", "null"]}},
            "unmapped": {"type": "string", "enum": ["error", "keep", "blank"]},
        },
        "Recoded from the collected value through the study's recoding table.",
        modifier=True,
        rank=20,
    )
)
