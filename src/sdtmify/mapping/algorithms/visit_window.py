"""``visit_window``: the planned visit whose study-day window holds the record's study day."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ... import isodates
from ..context import MappingContext
from .base import OPERAND, Algorithm, operand, register


def study_day(date: pd.Series, reference: pd.Series) -> pd.Series:
    """Study day of complete dates: the reference date is day 1, the day before it day -1 (no day 0,
    SDTMIG 3.4 section 4.4.4); blank when either date is partial."""
    days = (isodates.date_part(date) - isodates.date_part(reference)).dt.days
    return days.where(days < 0, days + 1).astype("float64")


def visit_window(spec, ctx: MappingContext, path) -> pd.Series:
    """VISITNUM (``give: visitnum``, default) or VISIT (``give: visit``) of the first window whose
    ``from``..``to`` study days (both included) hold the record's study day: ``day`` (a collected
    study day), or ``date`` and ``reference`` (SDTMIG 3.4 section 4.4.4 day arithmetic). Records
    outside every window are blank (``outside: blank``, default) or an error (``outside: error``)
    (SDTMIG 3.4 section 4.4.5: visits by protocol-defined windows)."""
    args = spec["visit_window"]
    here = [*path, "visit_window"]
    if "day" in args:
        text = operand(args["day"], ctx, [*here, "day"])
        day = pd.to_numeric(text.where(text != "", None), errors="coerce").astype("float64")
        bad = day.isna() & (text != "")
        if bad.any():
            raise ctx.error([*here, "day"], f"'{text[bad].iloc[0]}' is not a study day ({ctx.row_numbers(bad, 1)})")
    elif "date" in args and "reference" in args:
        day = study_day(
            operand(args["date"], ctx, [*here, "date"]), operand(args["reference"], ctx, [*here, "reference"])
        )
    else:
        raise ctx.error(here, "needs 'day' (a study day) or both 'date' and 'reference'")
    give = args.get("give", "visitnum")
    numeric = give == "visitnum"
    result = pd.Series(np.nan if numeric else "", index=day.index, dtype="float64" if numeric else object)
    pending = day.notna()
    for window in args["windows"]:
        inside = pending & (day >= window["from"]) & (day <= window["to"])
        result.loc[inside] = float(window["visitnum"]) if numeric else str(window["visit"])
        pending &= ~inside
    if pending.any() and args.get("outside", "blank") == "error":
        raise ctx.error(
            [*here, "windows"],
            f"study day {int(day[pending].iloc[0])} is in no window ({ctx.row_numbers(pending, 1)}); "
            f"widen a window or set 'outside: blank'",
        )
    return result if numeric else result.astype(str)


ALGORITHM = register(
    Algorithm(
        "visit_window",
        visit_window,
        {
            "visit_window": {
                "type": "object",
                "additionalProperties": False,
                "required": ["windows"],
                "properties": {
                    "day": {**OPERAND, "description": "a collected study day"},
                    "date": {**OPERAND, "description": "the record's ISO 8601 date (with 'reference')"},
                    "reference": {**OPERAND, "description": "the subject's reference start date (day 1)"},
                    "give": {"type": "string", "enum": ["visitnum", "visit"]},
                    "outside": {"type": "string", "enum": ["blank", "error"]},
                    "windows": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["visitnum", "visit", "from", "to"],
                            "properties": {
                                "visitnum": {"type": "number"},
                                "visit": {"type": "string"},
                                "from": {"type": "integer", "description": "first study day of the window"},
                                "to": {"type": "integer", "description": "last study day of the window"},
                            },
                        },
                    },
                },
            }
        },
        "Assigned from the study day of the record and the protocol's visit windows.",
    )
)
