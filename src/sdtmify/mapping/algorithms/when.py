"""``when`` / ``else``: the value of the first branch whose condition holds (sdtm.oak condition_add)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..context import MappingContext
from .base import Algorithm, as_text, condition, describe_condition, describe_value, evaluate, register


def when(spec, ctx: MappingContext, path) -> pd.Series:
    """Conditional: the first branch whose ``if`` holds gives the value, else ``else`` (or blank).

    Each branch is evaluated only on its own records, so a recode in ``else`` never sees the
    values an earlier branch already handled (sdtm.oak condition_add; a value set by a sponsor rule
    is Derived in SDTMIG 3.4 terms and its rule is stated in define.xml)."""
    pending = pd.Series(True, index=ctx.rows.index)
    pieces = []
    for i, branch in enumerate(spec["when"]):
        holds = condition(branch["if"], ctx, [*path, "when", i, "if"]) & pending
        if holds.any():
            pieces.append(evaluate(branch["then"], ctx.restricted(holds), [*path, "when", i, "then"]))
        pending &= ~holds
    if "else" in spec and pending.any():
        pieces.append(evaluate(spec["else"], ctx.restricted(pending), [*path, "else"]))
    numeric = bool(pieces) and all(piece.dtype == "float64" for piece in pieces)
    if numeric:
        result = pd.Series(np.nan, index=ctx.rows.index, dtype="float64")
    else:
        result = pd.Series("", index=ctx.rows.index, dtype=object)
        pieces = [as_text(piece) for piece in pieces]
    for piece in pieces:
        result.loc[piece.index] = piece.to_numpy()
    return result if numeric else result.astype(str)


def describe(spec) -> str:
    """The method text with the study's branches: "'ONGOING' when resolution_date is blank; otherwise blank"."""
    branches = [f"{describe_value(b['then'])} when {describe_condition(b['if'])}" for b in spec["when"]]
    otherwise = describe_value(spec["else"]) if "else" in spec else "blank"
    return f"{ALGORITHM.method[:-1]}: {'; '.join(branches)}; otherwise {otherwise}."


ALGORITHM = register(
    Algorithm(
        "when",
        when,
        {
            "when": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/branch"}},
            "else": {"$ref": "#/$defs/expression"},
        },
        "Set by the first condition that holds for the record, in the order the mapping lists them.",
        describe=describe,
    )
)
