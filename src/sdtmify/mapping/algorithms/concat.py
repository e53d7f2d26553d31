"""``concat``: several values joined with a separator."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import OPERAND, Algorithm, operand, register


def concat(spec, ctx: MappingContext, path) -> pd.Series:
    """The values of ``of`` joined by ``sep``; ``blanks: skip`` (default) leaves blank values out,
    ``blanks: blank`` makes the result blank when any value is blank (e.g. a --TERM built from a
    term and its "other, specify" text; SDTMIG 3.4 keeps both in --TERM when the CRF has an "other, specify" box)."""
    args = spec["concat"]
    here = [*path, "concat"]
    values = [operand(item, ctx, [*here, "of", i]) for i, item in enumerate(args["of"])]
    frame = pd.concat(values, axis=1)
    sep = args.get("sep", "")
    blank = frame == ""
    if args.get("blanks", "skip") == "blank":
        joined = frame.astype(str).agg(sep.join, axis=1) if len(frame) else pd.Series("", index=frame.index)
        return joined.where(~blank.any(axis=1), "").astype(str)
    # joined with the separator after each non-blank value, the last separator then cut
    result = pd.Series("", index=frame.index, dtype=object)
    for column in frame.columns:
        piece = frame[column]
        result = result.where(piece == "", result.where(result == "", result + sep) + piece)
    return result.astype(str)


ALGORITHM = register(
    Algorithm(
        "concat",
        concat,
        {
            "concat": {
                "type": "object",
                "additionalProperties": False,
                "required": ["of"],
                "properties": {
                    "of": {"type": "array", "minItems": 2, "items": OPERAND},
                    "sep": {"type": "string"},
                    "blanks": {
                        "type": "string",
                        "enum": ["skip", "blank"],
                        "description": "skip (default): leave blank values out; blank: blank result if any is blank",
                    },
                },
            }
        },
        "Joined from the listed collected values with a separator.",
    )
)
