"""``age``: AGE and AGEU from two DM dates."""

from __future__ import annotations

import numpy as np

from ... import yamlio
from ...derive import age as age_rules
from ..state import BuildState, DomainBuild, VariableNote, doc
from .base import Derivation, register


def derive_vars_age(state: BuildState, build: DomainBuild, params: dict, path: list) -> None:
    """AGE in whole years completed from ``birth`` (BRTHDTC) to ``at`` (e.g. RFICDTC), AGEU = YEARS;
    blank when a date is partial (SDTMIG 3.4 DM: AGE, AGEU)."""
    frame = build.frame
    for key in ("birth", "at"):
        if params[key] not in frame.columns:
            raise build.mapping.error(
                [*path, key], f"variable '{params[key]}' is not in DM{yamlio.suggest(params[key], frame.columns)}"
            )
    frame["AGE"] = age_rules.age_in_years(frame[params["birth"]], frame[params["at"]])
    frame["AGEU"] = np.where(frame["AGE"].notna(), "YEARS", "")
    build.notes["AGE"] = VariableNote(origin="Derived", method=doc(age_rules.age_in_years), method_name="AGE")
    build.note("AGEU", "Assigned")


DERIVATION = register(
    Derivation(
        "age",
        derive_vars_age,
        "Age in completed years between the birth date and the date named (e.g. informed consent); AGEU is YEARS.",
        phase="subject",
        rank=30,
        schema={
            "type": "object",
            "additionalProperties": False,
            "required": ["birth", "at"],
            "properties": {"birth": {"type": "string"}, "at": {"type": "string"}},
        },
    )
)
