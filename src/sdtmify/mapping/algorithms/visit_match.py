"""``visit_match``: VISITNUM from the collected visit name by patterns ("Unscheduled 8.2" -> 8.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..context import MappingContext
from .base import OPERAND, Algorithm, compile_pattern, operand, register


def visit_match(spec, ctx: MappingContext, path) -> pd.Series:
    """VISITNUM of each visit name from the first pattern it matches: ``visitnum`` is a number, or
    a text with ``\\1`` naming a captured group ("Week (\\d+)" -> "\\1"); a name no pattern matches
    is an error naming the row (SDTMIG 3.4 section 4.4.5: VISITNUM numbers each visit, and
    unscheduled visits get numbers between the scheduled ones)."""
    args = spec["visit_match"]
    here = [*path, "visit_match"]
    text = operand(args["of"], ctx, [*here, "of"])
    result = pd.Series(np.nan, index=text.index, dtype="float64")
    pending = text != ""
    for i, rule in enumerate(args["patterns"]):
        pattern = compile_pattern(rule["match"], ctx, [*here, "patterns", i, "match"])
        hit = pending & text.str.fullmatch(pattern)
        if not hit.any():
            continue
        number = rule["visitnum"]
        if isinstance(number, str):
            written = text[hit].str.replace(pattern, number, regex=True)
            values = pd.to_numeric(written, errors="coerce")
            bad = values.isna()
            if bad.any():
                raise ctx.error(
                    [*here, "patterns", i, "visitnum"],
                    f"'{text[hit][bad].iloc[0]}' gives VISITNUM '{written[bad].iloc[0]}', which is not a number",
                )
            result.loc[hit] = values.to_numpy()
        else:
            result.loc[hit] = float(number)
        pending &= ~hit
    if pending.any():
        raise ctx.error(
            [*here, "patterns"],
            f"visit '{text[pending].iloc[0]}' matches no pattern ({ctx.row_numbers(pending, 1)}); add a pattern for it",
        )
    return result


ALGORITHM = register(
    Algorithm(
        "visit_match",
        visit_match,
        {
            "visit_match": {
                "type": "object",
                "additionalProperties": False,
                "required": ["of", "patterns"],
                "properties": {
                    "of": OPERAND,
                    "patterns": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["match", "visitnum"],
                            "properties": {
                                "match": {
                                    "type": "string",
                                    "description": "a regular expression the whole name matches",
                                },
                                "visitnum": {
                                    "type": ["number", "string"],
                                    "description": "the number, or text naming groups (\\1)",
                                },
                            },
                        },
                    },
                },
            }
        },
        "Assigned from the collected visit name by the study's visit-name patterns.",
    )
)
