"""``censored``: results reported against a limit ("<20", ">1000") or as a text code ("ND")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...derive.findings import number_text
from ..context import MappingContext
from .base import OPERAND, Algorithm, operand, register

_LIMITED = r"^\s*(?P<sign>[<>]=?)\s*(?P<number>[-+]?(?:\d+\.?\d*|\.\d+))\s*$"


def censored(spec, ctx: MappingContext, path) -> pd.Series:
    """One standard form of a result that may be censored (SDTMIG 3.4 section 4.5.1 and LB
    assumption 8): ``stresc`` = the result in standard character form ("<20" stays "<20",
    numbers in their shortest form, text upper case); ``stresn`` = the number, blank for a censored
    or text result; ``lloq`` = the limit of "<20" / "<=20"; ``uloq`` = the limit of ">1000".
    --ORRES keeps the result as collected (map it with ``column``)."""
    args = spec["censored"]
    text = operand(args["of"], ctx, [*path, "censored", "of"]).str.strip()
    found = text.str.extract(_LIMITED)
    limit = pd.to_numeric(found["number"], errors="coerce").astype("float64")
    sign = found["sign"].fillna("")
    plain = pd.to_numeric(text.where(found["number"].isna() & (text != ""), None), errors="coerce").astype("float64")
    give = args["give"]
    if give == "stresn":
        return plain
    if give == "lloq":
        return limit.where(sign.str.startswith("<"), np.nan)
    if give == "uloq":
        return limit.where(sign.str.startswith(">"), np.nan)
    standard = text.str.upper()
    standard = standard.where(plain.isna(), number_text(plain))
    return standard.where(found["number"].isna(), sign + number_text(limit)).astype(str)


ALGORITHM = register(
    Algorithm(
        "censored",
        censored,
        {
            "censored": {
                "type": "object",
                "additionalProperties": False,
                "required": ["of", "give"],
                "properties": {
                    "of": OPERAND,
                    "give": {
                        "type": "string",
                        "enum": ["stresc", "stresn", "lloq", "uloq"],
                        "description": "which standard form of the result this variable takes",
                    },
                },
            }
        },
        "Derived from the collected result: a result below or above a limit ('<20', '>1000') keeps "
        "its text in the character result, has no numeric result, and gives the limit of quantitation.",
    )
)
