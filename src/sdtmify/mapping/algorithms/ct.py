"""``ct`` + ``extend``: recode to the CDISC CT submission value (a modifier; sdtm.oak assign_ct)."""

from __future__ import annotations

import pandas as pd

from ..context import MappingContext
from .base import Algorithm, as_text, register


def assign_ct(spec, values: pd.Series, ctx: MappingContext, path) -> pd.Series:
    """The CT submission value of each value (exact, then synonyms and the NCI preferred term);
    values CT does not know are an error unless declared as sponsor terms of an extensible codelist
    (SDTMIG 3.4 section 4.3: controlled variables hold CT submission values)."""
    if ctx.ct is None:  # e.g. a condition evaluated where no terminology is loaded
        raise ctx.error([*path, "ct"], "codelist recoding (ct:) is not available here")
    return ctx.ct.recode(as_text(values), spec["ct"], spec.get("extend", {}), ctx, path)


ALGORITHM = register(
    Algorithm(
        "ct",
        assign_ct,
        {
            "ct": {"type": "string", "description": "a CT codelist short name or C-code to recode to"},
            "extend": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "sponsor-defined terms {value: decode}",
            },
        },
        "Recoded to the CDISC Controlled Terminology submission value.",
        modifier=True,
        rank=40,
    )
)
