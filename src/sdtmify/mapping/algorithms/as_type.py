"""``as``: the SAS type of the result (a modifier, applied last)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..context import MappingContext
from .base import Algorithm, as_text, register


def as_type(spec, values: pd.Series, ctx: MappingContext, path) -> pd.Series:
    """Type conversion: ``num``/``integer`` to float64 (text that is not a number is an error naming
    the rows), ``char`` to text (SDTMIG 3.4 variable metadata: each variable is Char or Num)."""
    kind = spec["as"]
    if kind == "char":
        return as_text(values)
    if values.dtype == "float64":
        numbers = values
    else:
        # parsed once per distinct value (a result column repeats its values), spread back by position
        codes, uniques = pd.factorize(as_text(values), use_na_sentinel=False)
        text = pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.strip()
        parsed = pd.to_numeric(text.where(text != "", None), errors="coerce").astype("float64")
        numbers = pd.Series(parsed.to_numpy()[codes], index=values.index, name=values.name, dtype="float64")
        unparsed = (parsed.isna() & (text != "")).to_numpy()
        if unparsed.any():
            bad = pd.Series(unparsed[codes], index=values.index)
            first = text.to_numpy()[codes[bad.to_numpy()][0]]
            raise ctx.error(
                [*path, "as"],
                f"'{first}' is not a number ({ctx.row_numbers(bad, 1)}); map it first or keep the variable as char",
            )
    if kind == "integer":
        fractional = numbers.notna() & (numbers != np.floor(numbers))
        if fractional.any():
            raise ctx.error(
                [*path, "as"], f"{numbers[fractional].iloc[0]} is not a whole number ({ctx.row_numbers(fractional, 1)})"
            )
    return numbers.astype("float64")


ALGORITHM = register(
    Algorithm(
        "as",
        as_type,
        {"as": {"type": "string", "enum": ["char", "num", "integer"]}},
        "Converted to a number (or to text).",
        modifier=True,
        rank=50,
    )
)
