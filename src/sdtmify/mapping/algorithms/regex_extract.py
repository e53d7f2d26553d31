"""``regex_extract``: the text a regular expression captures."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import OPERAND, Algorithm, compile_pattern, operand, register


def regex_extract(spec, ctx: MappingContext, path) -> pd.Series:
    """The text captured by ``group`` (default: the first group, or the whole match when the pattern
    has none) of the first match of ``pattern``; blank when it does not match (or, with
    ``required: true``, an error naming the row). The result is Derived in SDTMIG 3.4 terms: define.xml
    states the pattern, e.g. VISITDY from a visit label "Week 4 (Day 29)"."""
    args = spec["regex_extract"]
    here = [*path, "regex_extract"]
    text = operand(args["of"], ctx, [*here, "of"])
    pattern = compile_pattern(args["pattern"], ctx, [*here, "pattern"])
    group = args.get("group", 1 if pattern.groups else 0)
    if group > pattern.groups:
        raise ctx.error([*here, "group"], f"the pattern has {pattern.groups} group(s); there is no group {group}")
    wrapped = pattern.pattern if group else f"({pattern.pattern})"
    found = text.str.extract(wrapped, expand=True).iloc[:, max(group, 1) - 1]
    if args.get("required"):
        missing = found.isna() & (text != "")
        if missing.any():
            raise ctx.error(
                [*here, "pattern"],
                f"'{text[missing].iloc[0]}' does not match '{args['pattern']}' ({ctx.row_numbers(missing, 1)})",
            )
    return found.fillna("").astype(str)


ALGORITHM = register(
    Algorithm(
        "regex_extract",
        regex_extract,
        {
            "regex_extract": {
                "type": "object",
                "additionalProperties": False,
                "required": ["of", "pattern"],
                "properties": {
                    "of": OPERAND,
                    "pattern": {"type": "string", "description": "a regular expression (Python syntax)"},
                    "group": {"type": "integer", "minimum": 0},
                    "required": {"type": "boolean", "description": "a non-blank value that does not match is an error"},
                },
            }
        },
        "Taken from the collected text as the part matching a pattern.",
    )
)
