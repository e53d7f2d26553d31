"""``arm``: ARMCD/ARM planned, ACTARMCD/ACTARM actual, ARMNRS for subjects outside every arm."""

from __future__ import annotations

import pandas as pd

from ...derive import arms as arm_rules
from .. import expressions
from ..state import BuildState, DomainBuild, VariableNote, doc
from .base import Derivation, register


def refuse_conflict(build: DomainBuild, column: str, derived: pd.Series) -> None:
    """A variable both mapped under ``variables:`` and derived must agree: a derivation never
    silently overwrites what the mapping says."""
    mapped = (build.mapping.document.get("variables") or {}) if build.mapping else {}
    if column not in mapped or column not in build.frame:
        return
    given = build.frame[column].astype(str)
    differs = given != derived.astype(str)
    if differs.any():
        first = differs[differs].index[0]
        raise build.mapping.error(
            ["variables", column],
            f"mapped value '{given[first]}' ({build.source_context().row_numbers(differs, 1)}) differs from the derived "
            f"'{derived[first]}'; map {column} or derive it, not both",
        )


def _arms_of(raw: pd.Series, build: DomainBuild, arms: list, path: list, what: str, hint: str):
    """ARMCD/ARM of each subject's ``raw`` arm; an arm in no trial design arm is an input error."""
    assigned, unknown = arm_rules.planned_arm(raw, arms)
    if unknown.any():
        known = ", ".join(a["ARMCD"] for a in arms)
        raise build.mapping.error(
            path,
            f"{what}'{raw[unknown].iloc[0]}' ({build.source_context().row_numbers(unknown, 1)}) matches "
            f"no arm ({known}); {hint}",
        )
    return assigned


def derive_vars_arm(state: BuildState, build: DomainBuild, params: dict, path: list) -> None:
    """ARMCD/ARM, the planned arm, from the trial design arm the ``from`` expression names;
    ACTARMCD/ACTARM, the actual arm, as planned for treated subjects (``actual: planned``) or from
    the data (``actual:`` an expression); ARMNRS with null arms for screen failures, subjects never
    assigned and subjects assigned but not treated (SDTMIG 3.4 DM assumptions 4-6). A variable both
    mapped and derived must agree."""
    frame = build.frame
    context = build.source_context()
    raw = expressions.as_text(expressions.evaluate(params["from"], context, [*path, "from"]))
    design = state.study.config.get("trial_design", {}) or {}
    if not design.get("arms"):
        raise build.mapping.error([*path, "from"], "arm needs 'trial_design: arms:' in study.yaml")
    assigned = _arms_of(raw, build, design["arms"], [*path, "from"], "", "add it to an arm's 'match' in study.yaml")
    methods = dict.fromkeys(("ARMCD", "ARM"), doc(arm_rules.planned_arm))
    treated = frame.get("RFXSTDTC", pd.Series("", index=frame.index)).astype(str) != ""
    if params["actual"] == "planned":
        actual = arm_rules.actual_arm_as_planned(assigned["ARMCD"], assigned["ARM"], treated)
        actual_method = doc(arm_rules.actual_arm_as_planned)
    else:
        actual_path = [*path, "actual"]
        raw_actual = expressions.as_text(expressions.evaluate(params["actual"], context, actual_path))
        received, unknown = arm_rules.planned_arm(raw_actual, design["arms"])
        if unknown.any() and "unplanned" not in params:
            _arms_of(
                raw_actual,
                build,
                design["arms"],
                actual_path,
                "actual arm ",
                "add it to an arm's 'match', or declare 'unplanned:' when it is an unplanned treatment",
            )
        actual = arm_rules.actual_arm_from_data(assigned["ARMCD"], received)
        actual_method = doc(arm_rules.actual_arm_from_data)
        if "unplanned" in params:  # SDTMIG 3.4 DM assumption 4a: ARMNRS UNPLANNED TREATMENT, ACTARMUD
            spec = params["unplanned"]
            text = raw_actual if spec is True else expressions.evaluate(spec, context, [*path, "unplanned"])
            actual = arm_rules.unplanned_treatment(actual, unknown, expressions.as_text(text))
    arms = pd.concat([assigned, actual], axis=1)
    screen_failure = pd.Series(False, index=frame.index)
    if "screen_failure" in params:
        screen_failure = expressions.condition(params["screen_failure"], context, [*path, "screen_failure"])
    arms = arm_rules.arm_null_reason(arms, screen_failure)
    null_reason = f" {doc(arm_rules.arm_null_reason)}" if "screen_failure" in params else ""
    methods.update(dict.fromkeys(actual.columns, actual_method + null_reason))
    if "ACTARMUD" in actual:
        methods["ACTARMUD"] = doc(arm_rules.unplanned_treatment)
    for column, method in methods.items():
        refuse_conflict(build, column, arms[column])
        frame[column] = arms[column]
        if column in ("ARMCD", "ARM"):
            origin = "Derived" if column == "ARM" or "map" in params["from"] else "Collected"
            build.notes[column] = VariableNote(origin=origin, method=method, method_name=column)
        else:
            build.note(column, "Derived", method, column)


DERIVATION = register(
    Derivation(
        "arm",
        derive_vars_arm,
        "The planned arm is the trial design arm the subject was assigned to; the actual arm is the planned "
        "one for treated subjects, or the arm the data record as received; screen failures, subjects never "
        "assigned and subjects not treated have null arms and the reason in ARMNRS.",
        phase="subject",
        rank=20,
        schema={
            "type": "object",
            "additionalProperties": False,
            "required": ["from", "actual"],
            "properties": {
                "from": {"$ref": "#/$defs/expression"},
                "actual": {
                    "description": "How ACTARMCD/ACTARM are derived: 'planned' = the planned arm for every treated "
                    "subject (no deviation from the assigned arm in the source data); or an expression giving the "
                    "arm each subject actually received (an ARMCD or a 'match' value; blank = not treated)",
                    "oneOf": [{"type": "string", "enum": ["planned"]}, {"$ref": "#/$defs/expression"}],
                },
                "screen_failure": {
                    "description": "a condition on the DM source rows that holds for screen failures: ARMCD, ARM, "
                    "ACTARMCD, ACTARM null and ARMNRS SCREEN FAILURE",
                    "$ref": "#/$defs/condition",
                },
                "unplanned": {
                    "description": "with an 'actual' expression: an actual arm that matches no arm of the trial "
                    "design is an unplanned treatment (SDTMIG 3.4 DM 4a): ACTARMCD, ACTARM null, ARMNRS UNPLANNED "
                    "TREATMENT, ACTARMUD = the actual value as the source holds it (true) or an expression "
                    "describing it; without 'unplanned' such a value is an error",
                    "oneOf": [{"const": True}, {"$ref": "#/$defs/expression"}],
                },
            },
        },
    )
)
