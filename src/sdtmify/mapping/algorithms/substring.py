"""``substring``: part of a text by position (SAS SUBSTR)."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import OPERAND, Algorithm, operand, register


def substring(spec, ctx: MappingContext, path) -> pd.Series:
    """The characters from ``start`` (1 = the first) on, ``length`` of them (all when absent),
    e.g. SITEID as the first three characters of a subject reference (SDTMIG 3.4 DM: SITEID)."""
    args = spec["substring"]
    text = operand(args["of"], ctx, [*path, "substring", "of"])
    start = args["start"] - 1
    stop = None if "length" not in args else start + args["length"]
    return text.str.slice(start, stop).astype(str)


ALGORITHM = register(
    Algorithm(
        "substring",
        substring,
        {
            "substring": {
                "type": "object",
                "additionalProperties": False,
                "required": ["of", "start"],
                "properties": {
                    "of": OPERAND,
                    "start": {"type": "integer", "minimum": 1, "description": "1 = the first character"},
                    "length": {"type": "integer", "minimum": 1},
                },
            }
        },
        "Taken from the collected text by character position.",
    )
)
