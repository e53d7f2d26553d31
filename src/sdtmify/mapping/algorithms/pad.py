"""``pad``: text brought to a width with a fill character ("7" -> "007")."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import OPERAND, Algorithm, operand, register


def pad(spec, ctx: MappingContext, path) -> pd.Series:
    """The text filled on the ``side`` (left by default) with ``fill`` ("0" by default) up to
    ``width`` characters; blank stays blank, longer text is kept whole (e.g. a SUBJID of fixed width
    so that it sorts as the site's list does; SDTMIG 3.4 DM: SUBJID as used in the collected data)."""
    args = spec["pad"]
    text = operand(args["of"], ctx, [*path, "pad", "of"])
    padded = text.str.pad(args["width"], side=args.get("side", "left"), fillchar=args.get("fill", "0"))
    return padded.where(text != "", "").astype(str)


ALGORITHM = register(
    Algorithm(
        "pad",
        pad,
        {
            "pad": {
                "type": "object",
                "additionalProperties": False,
                "required": ["of", "width"],
                "properties": {
                    "of": OPERAND,
                    "width": {"type": "integer", "minimum": 1, "maximum": 200},
                    "fill": {"type": "string", "minLength": 1, "maxLength": 1},
                    "side": {"type": "string", "enum": ["left", "right"]},
                },
            }
        },
        "Filled to a fixed width.",
    )
)
