"""``epoch``: EPOCH of the subject's element containing the record's start date."""

from __future__ import annotations

from ...derive import epoch as epoch_rules
from ..state import BuildState, DomainBuild, doc
from .base import Derivation, register


def derive_var_epoch(state: BuildState, build: DomainBuild, params: dict, path: list) -> None:
    """EPOCH = the epoch of the subject's element in SE whose span holds the record's --STDTC (or
    --DTC, or the variable ``date`` names) (SDTMIG 3.4 section 4.1.3.1: EPOCH is based on the start
    date/time of the observation)."""
    frame, prefix = build.frame, build.name
    date_var = params.get("date") or next((c for c in (f"{prefix}STDTC", f"{prefix}DTC") if c in frame), None)
    if date_var is None or "SE" not in state.domains:
        raise build.mapping.error(path, "epoch needs a --STDTC/--DTC variable and an SE mapping (design: SE)")
    frame["EPOCH"] = epoch_rules.epoch(frame["USUBJID"], frame[date_var], state.domains["SE"].frame)
    build.note("EPOCH", "Derived", doc(epoch_rules.epoch), "EPOCH")


DERIVATION = register(
    Derivation(
        "epoch",
        derive_var_epoch,
        "The epoch of the subject's element (SE) that contains the record's start date.",
        rank=70,
        bare=True,
        schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"date": {"type": "string"}},
        },
    )
)
