"""``regex_replace``: rewrite every match of a regular expression."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import OPERAND, Algorithm, compile_pattern, operand, register


def regex_replace(spec, ctx: MappingContext, path) -> pd.Series:
    """Every match of ``pattern`` replaced by ``with`` (``\\1`` names a captured group), e.g.
    runs of blanks to one blank. The result is Derived in SDTMIG 3.4 terms (no longer the collected
    text), so --ORRES, which holds results as collected (section 4.5.1), should not be rewritten."""
    args = spec["regex_replace"]
    here = [*path, "regex_replace"]
    text = operand(args["of"], ctx, [*here, "of"])
    pattern = compile_pattern(args["pattern"], ctx, [*here, "pattern"])
    try:
        return text.str.replace(pattern, args["with"], regex=True).astype(str)
    except Exception as exc:  # a bad group reference in 'with'
        raise ctx.error([*here, "with"], f"bad replacement '{args['with']}': {exc}") from None


ALGORITHM = register(
    Algorithm(
        "regex_replace",
        regex_replace,
        {
            "regex_replace": {
                "type": "object",
                "additionalProperties": False,
                "required": ["of", "pattern", "with"],
                "properties": {
                    "of": OPERAND,
                    "pattern": {"type": "string", "description": "a regular expression (Python syntax)"},
                    "with": {"type": "string", "description": "the replacement; \\1 is the first group"},
                },
            }
        },
        "Derived from the collected text by replacing the parts matching a pattern.",
    )
)
