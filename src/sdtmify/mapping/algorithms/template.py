"""``template``: fixed text and values joined, e.g. USUBJID-like identifiers."""

from __future__ import annotations

import re

import pandas as pd

from ..context import MappingContext
from .base import Algorithm, named, register

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def template(spec, ctx: MappingContext, path) -> pd.Series:
    """Text and values joined: ``"{STUDYID}-{site_id}"``; blank when any placeholder is blank, so a
    missing part never produces a half-built identifier (SDTMIG 3.4 DM: USUBJID identifies
    the subject uniquely across the submission)."""
    pieces = _PLACEHOLDER.split(spec["template"])
    result = pd.Series("", index=ctx.rows.index, dtype=object)
    any_blank = pd.Series(False, index=ctx.rows.index)
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            result = result + piece
        else:
            value = named(piece, ctx, [*path, "template"])
            any_blank |= value == ""
            result = result + value
    return result.where(~any_blank, "").astype(str)


ALGORITHM = register(
    Algorithm(
        "template",
        template,
        {"template": {"type": "string", "description": "text with {column} / {VARIABLE} placeholders"}},
        "Built by joining fixed text with the values named in the template; blank when any of those values is blank.",
    )
)
