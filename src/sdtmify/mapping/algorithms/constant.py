"""``constant``: the same value on every record (sdtm.oak hardcode_no_ct)."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import Algorithm, register


def hardcode(spec, ctx: MappingContext, path) -> pd.Series:
    """The same value on every record (Define-XML origin Assigned: a value the sponsor
    decides rather than collects, such as --CAT in SDTMIG 3.4); true/false become Y/N, numbers stay numbers."""
    value = spec["constant"]
    if isinstance(value, bool):
        value = "Y" if value else "N"
    if isinstance(value, (int, float)):
        return pd.Series(float(value), index=ctx.rows.index, dtype="float64")
    return pd.Series("" if value is None else str(value), index=ctx.rows.index, dtype=object).astype(str)


ALGORITHM = register(
    Algorithm(
        "constant",
        hardcode,
        {"constant": {"$ref": "#/$defs/scalar"}},
        "Assigned the same value on every record.",
        origin="Assigned",
    )
)
