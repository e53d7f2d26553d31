"""``map`` + ``unmapped``: recode through an explicit table (a modifier; sdtm.oak assign_ct with a
study-specific table)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..context import MappingContext
from .base import Algorithm, as_text, register


def recode(spec, values: pd.Series, ctx: MappingContext, path) -> pd.Series:
    """Recode through an explicit table; values not in it are an error (default), kept or blanked.

    A value the table does not know is never passed through silently unless the mapping says so
    (SDTMIG 3.4 section 4.3: a collected value is either submitted as collected or mapped to CT)."""
    table = {str(k): "" if v is None else str(v) for k, v in spec["map"].items()}
    text = as_text(values)
    # one hash pass: the table is applied to the distinct values, spread back by position
    codes, uniques = pd.factorize(text, use_na_sentinel=False)
    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    mapped = distinct.map(table)
    unknown = (mapped.isna() & (distinct != "")).to_numpy()
    policy = spec.get("unmapped", "error")
    if unknown.any() and policy == "error":
        unmapped = pd.Series(unknown[codes], index=text.index)
        missing = sorted(set(distinct[unknown]))
        raise ctx.error(
            [*path, "map"],
            f"values not in the map: {', '.join(repr(m) for m in missing[:5])} "
            f"({ctx.row_numbers(unmapped, 1)}); add them to 'map' or set "
            f"'unmapped: keep'",
        )
    fallback = distinct if policy == "keep" else pd.Series("", index=distinct.index)
    recoded = mapped.where(~mapped.isna(), fallback.where(distinct != "", "")).to_numpy(dtype=object)
    return pd.Series(recoded[codes], index=text.index, name=text.name, dtype=str)


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
