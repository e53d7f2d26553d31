"""``split_part``: one part of a delimited text ("01-701-1015" -> "1015")."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import OPERAND, Algorithm, operand, register


def split_part(spec, ctx: MappingContext, path) -> pd.Series:
    """The ``part``-th piece of the text split at ``sep`` (1 = the first, -1 = the last); blank
    when the text has fewer pieces, e.g. SUBJID as the last part of a subject reference
    (SDTMIG 3.4 DM: SUBJID as used in the collected data)."""
    args = spec["split_part"]
    text = operand(args["of"], ctx, [*path, "split_part", "of"])
    part = args["part"]
    pieces = text.str.split(args["sep"], regex=False)
    picked = pieces.str[part - 1 if part > 0 else part]
    return picked.where(text != "", "").fillna("").astype(str)


ALGORITHM = register(
    Algorithm(
        "split_part",
        split_part,
        {
            "split_part": {
                "type": "object",
                "additionalProperties": False,
                "required": ["of", "sep", "part"],
                "properties": {
                    "of": OPERAND,
                    "sep": {"type": "string", "minLength": 1},
                    "part": {"type": "integer", "not": {"const": 0}, "description": "1 = the first, -1 = the last"},
                },
            }
        },
        "Taken from the collected text as the stated part between separators.",
    )
)
