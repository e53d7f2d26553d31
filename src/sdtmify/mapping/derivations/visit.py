"""``visit``: VISITNUM, VISIT (and VISITDY) from the study's visit schedule."""

from __future__ import annotations

import pandas as pd

from ...derive import visits
from .. import expressions
from ..state import BuildState, DomainBuild, doc
from .base import Derivation, register


def derive_vars_visit(state: BuildState, build: DomainBuild, params: dict, path: list) -> None:
    """VISITNUM and VISIT of each record from the visit schedule in study.yaml, matched by the visit
    name the ``from`` expression gives; unscheduled visits numbered after the subject's previous
    scheduled visit, seen in this domain or in a domain derived before it (SDTMIG 3.4 section 4.4.5);
    with ``visitdy: true`` VISITDY, the visit's planned study day in TV (SDTMIG 3.4 section 7.3.1)."""
    frame, prefix, mapping = build.frame, build.name, build.mapping
    ctx = build.source_context()
    ctx.values = {c: frame[c] for c in frame.columns}
    raw = expressions.as_text(expressions.evaluate(params["from"], ctx, [*path, "from"]))
    date_var = params.get("date", f"{prefix}DTC" if f"{prefix}DTC" in frame else f"{prefix}STDTC")
    dtc = frame[date_var] if date_var in frame else None
    assigned, unknown = visits.assign_visits(
        raw,
        frame["USUBJID"],
        dtc,
        state.schedule,
        (state.study.config.get("visits") or {}).get("unscheduled"),
        seen=pd.concat(state.seen_visits, ignore_index=True) if state.seen_visits else None,
    )
    if unknown.any():
        raise mapping.error(
            [*path, "from"],
            f"visit '{raw[unknown].iloc[0]}' ({ctx.row_numbers(unknown, 1)}) "
            f"is not in the visit schedule of study.yaml; add it to a "
            f"visit's 'match' or to 'unscheduled'",
        )
    frame["VISITNUM"], frame["VISIT"] = assigned["VISITNUM"], assigned["VISIT"]
    if dtc is not None:
        state.seen_visits.append(visits.scheduled_visits(frame["USUBJID"], dtc, frame["VISITNUM"]))
    build.note("VISITNUM", "Derived", doc(visits.assign_visits), "VISITNUM")
    build.note("VISIT", "Derived", doc(visits.assign_visits), "VISIT")
    if params.get("visitdy"):
        frame["VISITDY"] = visits.planned_study_day(frame["VISITNUM"], state.schedule)
        build.note("VISITDY", "Derived", doc(visits.planned_study_day), "VISITDY")


DERIVATION = register(
    Derivation(
        "visit",
        derive_vars_visit,
        "The planned visit whose name (or accepted variant) matches the collected visit; an unscheduled "
        "visit is numbered after the subject's previous scheduled visit.",
        rank=20,
        schema={
            "type": "object",
            "additionalProperties": False,
            "required": ["from"],
            "properties": {
                "from": {"$ref": "#/$defs/expression"},
                "date": {"type": "string"},
                "visitdy": {
                    "type": "boolean",
                    "description": "true: VISITDY = the planned study day of the visit in the schedule (TV); "
                    "blank for unscheduled visits",
                },
            },
        },
    )
)
