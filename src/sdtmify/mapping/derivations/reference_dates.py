"""``reference_dates``: DM's RF* dates from the rules study.yaml gives."""

from __future__ import annotations

from ...derive.reference_dates import REFERENCE_DATES
from ..state import BuildState, DomainBuild, VariableNote
from .base import Derivation, register


def describe_rule(variable: str, rule: dict) -> str:
    """A reference date rule in words for define.xml."""
    where = f"{rule['source']}.{rule['column']}" if "source" in rule else f"{rule.get('domain')}.{rule.get('variable')}"
    text = f"{variable} = the {rule.get('pick', 'first')} value of {where} per subject"
    if "where" in rule:
        text += " among records meeting the study's condition"
    if rule.get("add_days"):
        text += f", plus {rule['add_days']} day(s)"
    return text + "."


def derive_vars_rf_dates(state: BuildState, build: DomainBuild, params: dict, path: list) -> None:
    """RFSTDTC, RFENDTC, RFXSTDTC, RFXENDTC, RFICDTC, RFPENDTC, DTHDTC... each the first or last date
    per subject of a source column or of a built domain's variable, as study.yaml's
    ``reference_dates:`` states (SDTMIG 3.4 DM: the reference start and end dates are sponsor-defined;
    RFXSTDTC/RFXENDTC are the first and last exposure to study treatment)."""
    rules = state.study.config.get("reference_dates", {}) or {}
    if not rules:
        raise build.mapping.error(path, "reference_dates needs rules under 'reference_dates:' in study.yaml")
    frame = build.frame
    for variable in REFERENCE_DATES:
        if variable not in rules:
            continue
        rule = rules[variable]
        dates = state.resolve_date_rule(rule, ["reference_dates", variable], state.study.file, state.study.config)
        frame[variable] = frame["USUBJID"].map(dates).fillna("").astype(str)
        origin = "Collected" if "source" in rule and "pick" not in rule else "Derived"
        build.notes[variable] = VariableNote(
            origin=origin, method=rule.get("method") or describe_rule(variable, rule), method_name=variable
        )


DERIVATION = register(
    Derivation(
        "reference_dates",
        derive_vars_rf_dates,
        "Each reference date is the first or last date per subject of the source column or domain variable "
        "the study names (e.g. RFXSTDTC the first dose date in EX).",
        phase="subject",
        rank=10,
        bare=True,
    )
)
