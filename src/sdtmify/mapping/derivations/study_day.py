"""``study_day``: --DY, --STDY and --ENDY of the domain's dates, mapped or derived alike."""

from __future__ import annotations

from ...derive import study_day as study_day_rules
from ...errors import MetadataError
from ...metadata import standards
from ..state import BuildState, DomainBuild, doc
from .base import Derivation, register


def ig_variables(domain: str) -> set[str] | None:
    """The variables SDTMIG 3.4 lists for ``domain`` (None when the IG has no such domain)."""
    try:
        return set(standards.sdtm_dataset(domain).variable_names)
    except MetadataError:
        return None


def day_pairs(prefix: str, columns, allowed: set[str] | None = None) -> list[tuple[str, str]]:
    """(--DTC, --DY), (--STDTC, --STDY), (--ENDTC, --ENDY) present in the domain (SDTMIG 3.4 4.4.4),
    for the --DY variables the domain has in the IG: AE has AEDTC but no AEDY, so a mapped AEDTC
    gets no study day rather than stopping the build."""
    pairs = []
    for dtc, dy in (
        (f"{prefix}DTC", f"{prefix}DY"),
        (f"{prefix}STDTC", f"{prefix}STDY"),
        (f"{prefix}ENDTC", f"{prefix}ENDY"),
    ):
        if dtc in columns and (allowed is None or dy in allowed):
            pairs.append((dtc, dy))
    return pairs


def derive_vars_dy(state: BuildState, build: DomainBuild, params: dict, path: list) -> None:
    """--DY/--STDY/--ENDY of every --DTC/--STDTC/--ENDTC the domain has, whether mapped or derived,
    relative to DM.RFSTDTC (or the DM variable ``reference`` names): the reference date is day 1,
    the day before it day -1, there is no day 0 (SDTMIG 3.4 section 4.4.4)."""
    frame, prefix = build.frame, build.name
    reference = params.get("reference", "RFSTDTC")
    rfstdtc = state.dm_column(reference, frame["USUBJID"])
    for dtc, dy in day_pairs(prefix, frame.columns, ig_variables(prefix)):
        frame[dy] = study_day_rules.study_day(frame[dtc], rfstdtc)
        build.note(dy, "Derived", f"{doc(study_day_rules.study_day)} Reference: DM.{reference}.", dy)


DERIVATION = register(
    Derivation(
        "study_day",
        derive_vars_dy,
        "Days from the subject's reference start date (DM.RFSTDTC unless the step names another): the date "
        "minus the reference date, plus 1 on or after it (no day 0); blank when either date is partial.",
        rank=60,
        bare=True,
        schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"reference": {"type": "string"}},
        },
    )
)
