"""``dose_intervals``: EX records collapsed into intervals of constant dosing."""

from __future__ import annotations

from ... import yamlio
from ...derive import exposure
from ..state import BuildState, DomainBuild, VariableNote, doc
from .base import Derivation, register


def derive_ex_intervals(state: BuildState, build: DomainBuild, params: dict, path: list) -> None:
    """Consecutive records of a subject's treatment with the same dose, unit, route... (``by``) become
    one record from the first --STDTC to the last --ENDTC, when each starts at most ``gap_days`` after
    the interval so far ends (SDTMIG 3.4 EX: one record per constant dosing interval); the source rows
    and SUPP values follow the records kept. Runs first: later steps see the intervals."""
    prefix = build.name
    start, end = params.get("start", f"{prefix}STDTC"), params.get("end", f"{prefix}ENDTC")
    names = [*(("by", n) for n in params["by"]), *(("within", n) for n in params.get("within", []))]
    for key, name in [*names, ("start", start), ("end", end)]:
        if name not in build.frame:
            raise build.mapping.error(
                [*path, key], f"'{name}' is not a variable of {prefix}{yamlio.suggest(name, build.frame.columns)}"
            )
    kept, begins, ends = exposure.constant_dose_intervals(
        build.frame, list(params["by"]), start, end, int(params.get("gap_days", 1)), params.get("within")
    )
    frame = build.frame.loc[kept].copy()
    frame[start], frame[end] = begins, ends
    build.frame = frame
    context = build.source_context()
    context.rows = context.rows.loc[kept]
    build.supp_values = {q: values.loc[kept] for q, values in build.supp_values.items()}
    method = f"{doc(exposure.constant_dose_intervals)} Same values of: {', '.join(params['by'])}."
    for column in (start, end):
        build.notes[column] = VariableNote(origin="Derived", method=method, method_name=column)


DERIVATION = register(
    Derivation(
        "dose_intervals",
        derive_ex_intervals,
        "Consecutive dosing records with the same dose, unit and route become one record of a constant "
        "dosing interval, from the first start date to the last end date.",
        rank=10,
        schema={
            "type": "object",
            "additionalProperties": False,
            "required": ["by"],
            "description": "EX: collapse consecutive records with the same values of 'by' into one record per "
            "constant dosing interval",
            "properties": {
                "by": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                "start": {"type": "string"},
                "end": {"type": "string"},
                "gap_days": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "a record starting at most this many days after the interval's end continues it "
                    "(default 1)",
                },
                "within": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string"},
                    "description": "the treatment stream whose records are ordered in time (default: the first 'by' "
                    "variable)",
                },
            },
        },
    )
)
