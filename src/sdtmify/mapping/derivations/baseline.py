"""``baseline``: --LOBXFL and, with the sponsor's definition, --BLFL."""

from __future__ import annotations

from ...derive import baseline as baseline_rules
from ...distinct import by_distinct
from ..state import BuildState, DomainBuild, doc
from .base import Derivation, register


def derive_var_lobxfl(state: BuildState, build: DomainBuild, params: dict, path: list) -> None:
    """--LOBXFL = "Y" on each subject's last record with a result on or before RFXSTDTC per ``by``
    group (a blank group value is a group of its own); --BLFL only when the mapping declares the
    sponsor's baseline definition (``blfl: LOBXFL``) (SDTMIG 3.4 section 4.5.9)."""
    frame, prefix = build.frame, build.name
    date_var = params.get("date", f"{prefix}DTC")
    result = params.get("result", f"{prefix}ORRES")
    reference = state.dm_column(params.get("reference", "RFXSTDTC"), frame["USUBJID"])
    # judged once per distinct result: a column of millions of results holds a few thousand texts
    has_result = by_distinct(frame[result].astype(str), lambda text: text.str.strip() != "")
    flags = params.get("flags", ["LOBXFL"])
    if "BLFL" in flags and "blfl" not in params:
        raise build.mapping.error(
            path,
            f"flags lists BLFL but the baseline definition is missing: add 'blfl: LOBXFL' "
            f"when {prefix}BLFL marks the same records as {prefix}LOBXFL",
        )
    flag = baseline_rules.last_observation_before_exposure(frame, params["by"], date_var, reference, has_result)
    for which in flags:
        if which == "LOBXFL":
            frame[f"{prefix}{which}"] = flag
            method = doc(baseline_rules.last_observation_before_exposure)
        else:
            frame[f"{prefix}{which}"] = baseline_rules.baseline_flag_from_lobxfl(flag)
            method = doc(baseline_rules.baseline_flag_from_lobxfl)
        build.note(f"{prefix}{which}", "Derived", method, f"{prefix}{which}")


DERIVATION = register(
    Derivation(
        "baseline",
        derive_var_lobxfl,
        "The subject's last record with a result on or before first exposure, per test, is flagged Y; "
        "--BLFL marks the same records when the sponsor's baseline definition says so.",
        rank=80,
        schema={
            "type": "object",
            "additionalProperties": False,
            "required": ["by"],
            "properties": {
                "by": {"type": "array", "items": {"type": "string"}},
                "date": {"type": "string"},
                "result": {"type": "string"},
                "flags": {"type": "array", "items": {"type": "string", "enum": ["LOBXFL", "BLFL"]}},
                "reference": {"type": "string"},
                "blfl": {
                    "description": "The sponsor's baseline definition for --BLFL: 'LOBXFL' = the same records as "
                    "--LOBXFL; required when flags lists BLFL",
                    "type": "string",
                    "enum": ["LOBXFL"],
                },
            },
        },
    )
)
